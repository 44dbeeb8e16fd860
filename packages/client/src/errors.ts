/** Same brand as `@taskwire/core`'s errors, so `isTaskwireError` recognises client errors too. */
const BRAND = Symbol.for("taskwire.error");

/**
 * Codes only the client produces (the server's codes — `VALIDATION_ERROR`, `TASK_NOT_FOUND`, … — pass
 * through unchanged).
 */
export const ClientErrorCode = {
  /** `fetch` failed (DNS, refused connection, reset) and no HTTP response arrived. */
  NETWORK_ERROR: "NETWORK_ERROR",
  /** The server answered something that is not the Taskwire protocol (wrong content type, bad JSON). */
  PROTOCOL_ERROR: "PROTOCOL_ERROR",
  /** An HTTP error without a Taskwire JSON body. */
  HTTP_ERROR: "HTTP_ERROR",
  /** The subscription was closed (`close()`, or `break` out of its iteration) before the task ended. */
  SUBSCRIPTION_CLOSED: "SUBSCRIPTION_CLOSED",
} as const;

/** Options of {@link TaskwireClientError}. */
export interface TaskwireClientErrorOptions {
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** The JSON `details` of the server's error body (e.g. `{ issues }` of a `VALIDATION_ERROR`). */
  details?: Record<string, unknown>;
  /** From a `Retry-After` header (429, 503), in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * Every error the client throws or rejects with: a server error body `{ error: { code, message,
 * details? } }` (with its HTTP `status`), a network or protocol failure, or a task that ended badly.
 */
export class TaskwireClientError extends Error {
  /** A server `ErrorCode` (`VALIDATION_ERROR`, `TASK_NOT_FOUND`, …) or a {@link ClientErrorCode}. */
  readonly code: string;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: TaskwireClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TaskwireClientError";
    this.code = code;
    this.status = options.status;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
    // Non-enumerable, like core's: the brand is for recognition, not for serialization.
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** `result` of a task that ended `failed`: `code` and `message` are the task's structured error. */
export class TaskFailedError extends TaskwireClientError {
  readonly taskId: string;

  constructor(taskId: string, error: { code: string; message: string }) {
    super(error.code, error.message, { details: { taskId } });
    this.name = "TaskFailedError";
    this.taskId = taskId;
  }
}

/** `result` of a task that ended `cancelled` (code `CANCELLED`; `reason` as the server recorded it). */
export class TaskCancelledError extends TaskwireClientError {
  readonly taskId: string;
  readonly reason: string | undefined;

  constructor(taskId: string, reason?: string) {
    super("CANCELLED", `Task ${taskId} was cancelled${reason ? ` (${reason})` : ""}.`, {
      details: { taskId, ...(reason === undefined ? {} : { reason }) },
    });
    this.name = "TaskCancelledError";
    this.taskId = taskId;
    this.reason = reason;
  }
}

/**
 * Whether `error` is a {@link TaskwireClientError} (by brand, so it works across bundles), optionally
 * with `code`.
 * @example if (isTaskwireClientError(e, "VALIDATION_ERROR")) showIssues(e.details?.issues);
 */
export function isTaskwireClientError(error: unknown, code?: string): error is TaskwireClientError {
  if (typeof error !== "object" || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true || !("status" in error)) return false;
  return code === undefined || (error as TaskwireClientError).code === code;
}

/** Worth a retry: no response at all, a 5xx, a 429 or a 408. */
export function isTransient(error: unknown): boolean {
  if (!isTaskwireClientError(error)) return false;
  if (error.code === ClientErrorCode.NETWORK_ERROR) return true;
  const status = error.status ?? 0;
  return status >= 500 || status === 429 || status === 408;
}

/** `Retry-After` (delta-seconds or an HTTP date) in ms, or `undefined`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Turns a non-2xx response into a {@link TaskwireClientError} (reads its JSON body when there is one). */
export async function errorFromResponse(response: Response): Promise<TaskwireClientError> {
  const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") {
    const { code, message, details } = error as { code: string; message?: unknown; details?: unknown };
    return new TaskwireClientError(code, typeof message === "string" ? message : `HTTP ${response.status}`, {
      status: response.status,
      details:
        typeof details === "object" && details !== null ? (details as Record<string, unknown>) : undefined,
      retryAfterMs,
    });
  }
  return new TaskwireClientError(
    ClientErrorCode.HTTP_ERROR,
    `HTTP ${response.status} ${response.statusText}`.trim(),
    { status: response.status, retryAfterMs },
  );
}
