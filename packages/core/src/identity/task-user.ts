import { ErrorCode } from "../errors/error-codes";
import { TaskwireError } from "../errors/taskwire-error";
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
}

/** Strips secrets from a user context for persistence. */
export function toSidecar(user: UserContext): IdentitySidecar {
  const out: IdentitySidecar = { userId: user.userId };
  if (user.displayName !== undefined) out.displayName = user.displayName;
  if (user.claims !== undefined) out.claims = user.claims;
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
