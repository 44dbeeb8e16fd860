import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type DebounceOptions,
  getCurrentUserContext,
  isInUserContext,
  runAsService,
  runInUserContext,
  type TaskLike,
  type UserContext,
} from "@taskwire/core";
import { sendHttpError } from "../http-errors/to-http-error";
import type { StreamResult } from "../sse/stream-task-events";
import type { SseBridge } from "./sse-bridge";
import { traceCarrierOf } from "./trace-headers";
import type { CancelPolicy } from "./watcher-registry";

/**
 * Settings of `executeTask`. Identity comes only from the current user context (`asUser`), and retry,
 * cache, timeout and streaming belong to the engine: those keys are typed `never`.
 */
export interface ExecuteTaskSettings {
  /**
   * Deduplicates starts per owner and task (a page refresh re-attaches); `"input"` derives it from the
   * input. 1-255 visible ASCII characters, like the `Idempotency-Key` header; anything else is a 400.
   */
  idempotencyKey?: string | undefined;
  /**
   * Debounce the start (see core's `StartOptions.debounce`): starts with the same key within the period
   * fold into one run with the latest input, and each response streams that run. Not combined with
   * `idempotencyKey`; invalid options are a 400 naming the field. @default none
   */
  debounce?: DebounceOptions | undefined;
  /** Cancel the task when its last client is gone for longer than the grace. @default true */
  cancelOnDisconnect?: boolean;
  /** How long a reconnect to `GET /tasks/:taskId/events` may take to keep the task alive. @default 5000 */
  disconnectGraceMs?: number;
  retry?: never;
  cache?: never;
  timeout?: never;
  stream?: never;
  userId?: never;
}

/** What `executeTask` resolves to (it never rejects: errors are answered as JSON or `interrupted`). */
export interface ExecuteTaskResult {
  /** The started (or re-attached) task; undefined when the start was refused. */
  taskId: string | undefined;
  /** False when an idempotency key attached to an existing run. */
  created: boolean;
  /** How the response ended: a stream outcome, or `rejected` (a JSON error was sent). */
  outcome: StreamResult["outcome"] | "rejected";
}

/** One `executeTask` call: the response to stream on, the task, its (unvalidated) input and settings. */
export interface ExecuteTaskCall {
  res: ServerResponse;
  task: TaskLike;
  input: unknown;
  settings?: ExecuteTaskSettings | undefined;
}

const ENGINE_OWNED = ["retry", "cache", "timeout", "stream", "userId"] as const;

/**
 * Starts `task` as the current user (the service principal outside any user context) and streams its
 * run on `res` from seq 0, through the bridge. Errors before the headers (invalid input or idempotency
 * key, idempotency conflict, limits) are answered as JSON; later ones as an `interrupted` frame.
 */
export async function executeTask(bridge: SseBridge, call: ExecuteTaskCall): Promise<ExecuteTaskResult> {
  const { res, task, input, settings = {} } = call;
  // Capture the identity now, synchronously: it is the only source of the owner.
  const inContext = isInUserContext();
  const user = getCurrentUserContext();
  const owner: UserContext = { userId: user.userId };
  if (user.displayName !== undefined) owner.displayName = user.displayName;
  if (user.claims !== undefined) owner.claims = user.claims;
  const asOwner: CancelPolicy["asOwner"] = (fn) =>
    inContext ? runInUserContext(owner, fn) : runAsService(fn);

  let taskId: string | undefined;
  let created = false;
  try {
    const misplaced = ENGINE_OWNED.filter((key) => (settings as Record<string, unknown>)[key] !== undefined);
    if (misplaced.length > 0)
      throw new TypeError(`executeTask settings ${misplaced.join(", ")} are owned by the engine.`);
    const grace = settings.disconnectGraceMs ?? bridge.sse.disconnectGraceMs;
    if (!Number.isFinite(grace) || grace < 0) throw new TypeError("disconnectGraceMs must be >= 0.");

    const req = requestOf(res);
    const trace = traceCarrierOf(req);
    ({ taskId, created } = await bridge.start(task, input, {
      idempotencyKey: settings.idempotencyKey,
      debounce: settings.debounce,
      trace,
    }));
    // Only the start that created the run sets its disconnect policy: re-attaching by idempotency key to a
    // run started elsewhere (say as a 202 job meant to finish) must not make it cancellable.
    if (created && (settings.cancelOnDisconnect ?? true)) {
      bridge.watchers.protect(taskId, { graceMs: grace, asOwner });
    }
    // This request holds the task from the start until its response ends: a client gone before the
    // stream opened still starts the grace. The stream counts itself too while open; both let go together.
    const hold = bridge.watchers.attach(taskId);
    let result: StreamResult | undefined;
    try {
      result = await bridge.stream(req, res, taskId, { afterSeq: 0 });
    } finally {
      hold(result);
    }
    return { taskId, created, outcome: result.outcome };
  } catch (error) {
    sendHttpError(res, error, { production: bridge.production, logger: bridge.logger });
    return { taskId, created, outcome: "rejected" };
  }
}

function requestOf(res: ServerResponse): IncomingMessage {
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  if (!req)
    throw new TypeError("executeTask needs a response created by an HTTP server (res.req is missing).");
  return req;
}
