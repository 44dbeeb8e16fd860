/**
 * The one vocabulary of error codes. Every `TaskwireError` carries one of these; HTTP status mapping lives
 * only in `@taskwire/express`.
 */
export const ErrorCode = {
  VALIDATION_ERROR: "VALIDATION_ERROR",
  TASK_NOT_FOUND: "TASK_NOT_FOUND",
  UNKNOWN_TASK: "UNKNOWN_TASK",
  DUPLICATE_TASK: "DUPLICATE_TASK",
  INVALID_DEFINITION: "INVALID_DEFINITION",
  IDEMPOTENCY_CONFLICT: "IDEMPOTENCY_CONFLICT",
  NON_RETRIABLE: "NON_RETRIABLE",
  NON_DETERMINISM: "NON_DETERMINISM",
  CANCELLED: "CANCELLED",
  BACKPRESSURE: "BACKPRESSURE",
  STORE_CONFLICT: "STORE_CONFLICT",
  TASK_TIMEOUT: "TASK_TIMEOUT",
  STEP_FAILED: "STEP_FAILED",
  HANDLER_ERROR: "HANDLER_ERROR",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /** HTTP only: the caller is known but not allowed (an app's authorization hook said no). */
  FORBIDDEN: "FORBIDDEN",
  REAUTH_REQUIRED: "REAUTH_REQUIRED",
  /** A task's stored identity sidecar is malformed or names another user than its owner (never retried). */
  INVALID_IDENTITY: "INVALID_IDENTITY",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  NOT_IN_TASK: "NOT_IN_TASK",
  INTERNAL: "INTERNAL",
  /** A child task failed; its error is in `details.error`. */
  CHILD_FAILED: "CHILD_FAILED",
  /** `ctx.waitForSignal` timed out. */
  SIGNAL_TIMEOUT: "SIGNAL_TIMEOUT",
  /** The task is finished: it takes no more signals. */
  TASK_FINISHED: "TASK_FINISHED",
  /** `retry` of a task that is not `failed`. */
  NOT_RESUMABLE: "NOT_RESUMABLE",
  /** HTTP only: the request body is not valid JSON. */
  INVALID_JSON: "INVALID_JSON",
  /** HTTP only: the request body is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  /** HTTP only: no route matches the request. */
  NOT_FOUND: "NOT_FOUND",
  /** HTTP only: another malformed request (bad header, unsupported encoding). */
  BAD_REQUEST: "BAD_REQUEST",
} as const;

/** A string error code from {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
