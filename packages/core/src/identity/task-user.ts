import { z } from "zod";
import { ErrorCode } from "../errors/error-codes";
import { NonRetriableError, TaskwireError } from "../errors/taskwire-error";
import type { TraceCarrier } from "../observe/tracing";
import { toIssues } from "../task/validate";
import type { UserContext } from "./user-context";

/** `ctx.user` inside a task: the owner's identity, re-entered on every run and after a resume. */
export interface TaskUser {
  userId: string;
  displayName?: string;
  claims: Record<string, unknown>;
  /** Whether this is the service principal (the task was started by a bare call). */
  isService: boolean;
  /**
   * The caller's access token. Tokens live in memory only: after a resume in another process (or a
   * restart) this rejects with a `REAUTH_REQUIRED` error rather than running as the service.
   */
  token(): Promise<string>;
}

/** The JSON sidecar persisted with a task: identity without secrets. */
export interface IdentitySidecar {
  userId: string;
  displayName?: string;
  claims?: Record<string, unknown>;
  /** The W3C trace context of the start (with `createTaskflow({ tracing })`): the parent of its run spans. */
  trace?: TraceCarrier;
}

// Unknown keys are dropped (a newer version may add some), never trusted.
const sidecarSchema = z.object({
  userId: z.string().min(1),
  displayName: z.string().optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  // Only the parent of run spans: a malformed one is dropped (no parent), never a reason to fail the task.
  trace: z
    .object({ traceparent: z.string().max(64), tracestate: z.string().max(512).optional() })
    .optional()
    .catch(undefined),
});

/**
 * Parses and checks the identity sidecar stored with a task before a run re-enters it: a JSON object
 * whose `userId` is the task's `owner`, with an optional string `displayName` and an optional `claims`
 * record. Anything else throws a non-retriable `INVALID_IDENTITY` error, so the task fails rather than run
 * as someone else or as the service. A task stored without a sidecar (`null`) runs as its bare owner.
 */
export function parseIdentitySidecar(json: string | null, owner: string): IdentitySidecar {
  if (json === null || json === "") return { userId: owner };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw invalidIdentity(owner, "it is not valid JSON");
  }
  const parsed = sidecarSchema.safeParse(value);
  if (!parsed.success) {
    const issues = toIssues(parsed.error.issues);
    const first = issues[0];
    throw invalidIdentity(owner, `at "${first?.path || "(root)"}": ${first?.message}`, issues);
  }
  if (parsed.data.userId !== owner) throw invalidIdentity(owner, "its user id is not the task's owner");
  return parsed.data;
}

function invalidIdentity(owner: string, reason: string, issues?: unknown[]): NonRetriableError {
  return new NonRetriableError(`The stored identity of a task owned by ${owner} is invalid: ${reason}.`, {
    code: ErrorCode.INVALID_IDENTITY,
    details: issues === undefined ? { owner } : { owner, issues },
  });
}

/** Strips secrets from a user context for persistence (with the start's trace context, if any). */
export function toSidecar(user: UserContext, trace?: TraceCarrier): IdentitySidecar {
  const out: IdentitySidecar = { userId: user.userId };
  if (user.displayName !== undefined) out.displayName = user.displayName;
  if (user.claims !== undefined) out.claims = user.claims;
  if (trace !== undefined) out.trace = trace;
  return out;
}

/** Builds `ctx.user` from the sidecar and (if this process still holds it) the in-memory token. */
export function toTaskUser(
  sidecar: IdentitySidecar,
  isService: boolean,
  token: string | undefined,
): TaskUser {
  return Object.freeze({
    userId: sidecar.userId,
    displayName: sidecar.displayName,
    claims: sidecar.claims ?? {},
    isService,
    token: async () => {
      if (token !== undefined) return token;
      throw new TaskwireError(
        ErrorCode.REAUTH_REQUIRED,
        `No access token is available for user ${sidecar.userId} in this process; the user must re-authenticate.`,
      );
    },
  });
}
