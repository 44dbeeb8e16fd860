import { ErrorCode } from "./error-codes";

const BRAND = Symbol.for("taskwire.error");

/** JSON-safe details attached to an error (never secrets or payload contents). */
export type ErrorDetails = Record<string, unknown>;

/** Options accepted by every Taskwire error constructor. */
export interface TaskwireErrorOptions {
  /** JSON-safe structured details. */
  details?: ErrorDetails;
  /** The underlying error (ES2022 `cause`). */
  cause?: unknown;
}

/**
 * Base class of every error Taskwire throws. Recognise it with {@link isTaskwireError}, not `instanceof`,
 * because several copies of the package may be loaded. `TCode` is an {@link ErrorCode}; only errors made
 * from outside the vocabulary (a `NonRetriableError` with the author's own code, a deserialized foreign
 * error) widen it to `string`.
 */
export class TaskwireError<TCode extends string = ErrorCode> extends Error {
  /** Stable string code, one of {@link ErrorCode} unless `TCode` says otherwise. */
  readonly code: TCode;
  /** JSON-safe details. */
  readonly details: ErrorDetails | undefined;
  /** Whether the engine may retry the task after this error. */
  readonly retriable: boolean = true;

  constructor(code: TCode, message: string, options: TaskwireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TaskwireError";
    this.code = code;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The wire/WAL form: `{ code, message, details? }` (no stack). */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/** Input (or event, or result) did not match its zod schema; `details.issues` names each field. */
export class ValidationError extends TaskwireError {
  override readonly retriable = false;
  /** Issues with a dotted `path` naming the offending field. */
  readonly issues: ValidationIssue[];
  constructor(what: string, issues: ValidationIssue[], options: TaskwireErrorOptions = {}) {
    const first = issues[0];
    const where = first ? ` at "${first.path || "(root)"}": ${first.message}` : "";
    super(ErrorCode.VALIDATION_ERROR, `Invalid ${what}${where}`, {
      ...options,
      details: { ...options.details, issues },
    });
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** One field-level validation problem. */
export interface ValidationIssue {
  /** Dotted path of the field (`"rows"`, `"items.0.id"`); empty for the root. */
  path: string;
  message: string;
  code?: string;
}

/** No task with this id exists, or the caller does not own it (never leak existence). */
export class TaskNotFoundError extends TaskwireError {
  override readonly retriable = false;
  constructor(taskId: string) {
    super(ErrorCode.TASK_NOT_FOUND, `Task ${taskId} was not found.`, { details: { taskId } });
    this.name = "TaskNotFoundError";
  }
}

/** No task definition with this name is registered. */
export class UnknownTaskError extends TaskwireError {
  override readonly retriable = false;
  constructor(name: string) {
    super(ErrorCode.UNKNOWN_TASK, `No task named "${name}" is registered.`, { details: { task: name } });
    this.name = "UnknownTaskError";
  }
}

/** A task name was registered twice (thrown in production; a warning in development). */
export class DuplicateTaskError extends TaskwireError {
  override readonly retriable = false;
  constructor(name: string) {
    super(ErrorCode.DUPLICATE_TASK, `Task "${name}" is already registered.`, { details: { task: name } });
    this.name = "DuplicateTaskError";
  }
}

/** A task definition is malformed (bad name, reserved event name, missing schema). */
export class InvalidDefinitionError extends TaskwireError {
  override readonly retriable = false;
  constructor(message: string, details?: ErrorDetails) {
    super(ErrorCode.INVALID_DEFINITION, message, { details });
    this.name = "InvalidDefinitionError";
  }
}

/** The idempotency key was already used by this owner for this task with a different input. */
export class IdempotencyConflictError extends TaskwireError {
  override readonly retriable = false;
  constructor(task: string, existingTaskId: string) {
    super(
      ErrorCode.IDEMPOTENCY_CONFLICT,
      `Idempotency key for task "${task}" was already used with a different input (task ${existingTaskId}).`,
      { details: { task, taskId: existingTaskId } },
    );
    this.name = "IdempotencyConflictError";
  }
}

/**
 * Thrown by task code to fail the task at once, without further retries. `code` defaults to
 * `NON_RETRIABLE`; an author's own code (`"QUOTA_EXCEEDED"`) is kept and reaches the `failed` event.
 */
export class NonRetriableError<TCode extends string = string> extends TaskwireError<TCode> {
  override readonly retriable = false;
  constructor(message: string, options: TaskwireErrorOptions & { code?: TCode } = {}) {
    super(options.code ?? (ErrorCode.NON_RETRIABLE as TCode), message, options);
    this.name = "NonRetriableError";
  }
}

/** Replay met a different step (or event) than the WAL recorded at that position. */
export class NonDeterminismError extends TaskwireError {
  override readonly retriable = false;
  constructor(taskId: string, position: number, expected: string, recorded: string, kind = "step") {
    super(
      ErrorCode.NON_DETERMINISM,
      `Task ${taskId} is not deterministic: ${kind} #${position} is "${expected}" but the WAL recorded "${recorded}".`,
      { details: { taskId, position, expected, recorded, kind } },
    );
    this.name = "NonDeterminismError";
  }
}

/** The task was cancelled; `ctx.signal.reason` carries this. */
export class CancelledError extends TaskwireError {
  override readonly retriable = false;
  constructor(taskId: string) {
    super(ErrorCode.CANCELLED, `Task ${taskId} was cancelled.`, { details: { taskId } });
    this.name = "CancelledError";
  }
}

/**
 * Over a concurrency or rate limit; retry after `retryAfterMs`. `details.limit` names the limit
 * (`"maxActivePerOwner"`, `"startRate"`, `"maxQueued"`) when the engine refused a start.
 */
export class BackpressureError extends TaskwireError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, limit?: string) {
    super(ErrorCode.BACKPRESSURE, message, {
      details: limit === undefined ? { retryAfterMs } : { retryAfterMs, limit },
    });
    this.name = "BackpressureError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** A compare-and-swap lost its race: the task changed (or its lease moved) since it was read. */
export class StoreConflictError extends TaskwireError {
  constructor(taskId: string, reason: string) {
    super(ErrorCode.STORE_CONFLICT, `Task ${taskId} changed concurrently: ${reason}.`, {
      details: { taskId, reason },
    });
    this.name = "StoreConflictError";
  }
}

/** A task attempt ran past its `timeoutMs`. */
export class TaskTimeoutError extends TaskwireError {
  constructor(taskId: string, timeoutMs: number) {
    super(ErrorCode.TASK_TIMEOUT, `Task ${taskId} timed out after ${timeoutMs} ms.`, {
      details: { taskId, timeoutMs },
    });
    this.name = "TaskTimeoutError";
  }
}

/** The taskflow is shutting down and accepts no new work. */
export class ShuttingDownError extends TaskwireError {
  constructor() {
    super(ErrorCode.SHUTTING_DOWN, "Taskwire is shutting down.");
    this.name = "ShuttingDownError";
  }
}

/** The wire and WAL form of an error: code and message, never a stack. */
export interface SerializedError {
  code: string;
  message: string;
  name?: string;
  details?: ErrorDetails;
  retriable?: boolean;
  /**
   * The message was not written for users: the error is not a Taskwire error (a driver, the file system,
   * a plain `throw`) or is `INTERNAL`. Operators read it; HTTP masks it in production.
   */
  internal?: true;
}

/**
 * Whether `error` is a Taskwire error (optionally with the given code), across package copies. With a
 * code it narrows to that code; without one, `code` is a `string` (authors may use their own codes).
 * @example if (isTaskwireError(error, ErrorCode.STORE_CONFLICT)) retry();
 */
export function isTaskwireError<TCode extends ErrorCode>(
  error: unknown,
  code: TCode,
): error is TaskwireError<TCode>;
export function isTaskwireError(error: unknown): error is TaskwireError<string>;
export function isTaskwireError(error: unknown, code?: ErrorCode): boolean {
  if (typeof error !== "object" || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as TaskwireError).code === code;
}

/** Whether the engine may retry after `error`: anything but a Taskwire error marked non-retriable. */
export function isRetriable(error: unknown): boolean {
  return !isTaskwireError(error) || error.retriable;
}

/**
 * Turns any thrown value into its JSON-safe form. Stacks stay in logs.
 * @example serializeError(new Error("boom")) // { code: "HANDLER_ERROR", message: "boom", name: "Error" }
 */
export function serializeError(error: unknown): SerializedError {
  if (isTaskwireError(error)) {
    const out: SerializedError = { code: error.code, message: error.message, name: error.name };
    if (error.details !== undefined) out.details = jsonSafe(error.details);
    out.retriable = error.retriable;
    if (error.code === ErrorCode.INTERNAL) out.internal = true;
    return out;
  }
  if (error instanceof Error) {
    // A foreign code (ECONNREFUSED, ENOENT, a driver's) is kept for operators; the message stays internal.
    const own = (error as { code?: unknown }).code;
    const code =
      typeof own === "string" && /^[A-Z][A-Z0-9_]{1,63}$/.test(own) ? own : ErrorCode.HANDLER_ERROR;
    return { code, message: error.message, name: error.name, internal: true };
  }
  return {
    code: ErrorCode.HANDLER_ERROR,
    message: typeof error === "string" ? error : "Non-error value thrown",
    internal: true,
  };
}

/** Rebuilds a `TaskwireError` from its serialized form (its code may be foreign, hence `string`). */
export function deserializeError(data: SerializedError): TaskwireError<string> {
  const error = new TaskwireError(data.code, data.message, { details: data.details });
  if (data.name) error.name = data.name;
  if (data.retriable === false) Object.defineProperty(error, "retriable", { value: false });
  return error;
}

function jsonSafe(details: ErrorDetails): ErrorDetails {
  try {
    return JSON.parse(JSON.stringify(details, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  } catch {
    return {};
  }
}
