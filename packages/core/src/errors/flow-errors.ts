import { ErrorCode } from "./error-codes";
import { type SerializedError, TaskwireError } from "./taskwire-error";

/** A child task the parent waited for failed; `details.error` is the child's error. */
export class ChildTaskError extends TaskwireError {
  // The outcome is recorded in the parent's WAL: retrying the parent would meet the same failure.
  override readonly retriable = false;
  /** The failed child's id. */
  readonly childId: string;
  constructor(childId: string, error: SerializedError, cause?: unknown) {
    // A child's internal message (not written for users) must not surface through its parent's message,
    // which is not internal: production masks only errors marked so.
    const shown = error.internal ? `${error.code}` : error.message;
    const childError = error.internal
      ? { code: error.code, message: "Internal error", internal: true }
      : { code: error.code, message: error.message };
    super(ErrorCode.CHILD_FAILED, `Child task ${childId} failed: ${shown}`, {
      details: { taskId: childId, error: childError },
      cause,
    });
    this.name = "ChildTaskError";
    this.childId = childId;
  }
}

/** `ctx.waitForSignal(name, { timeoutMs })` saw no signal in time. */
export class SignalTimeoutError extends TaskwireError {
  constructor(taskId: string, signal: string, timeoutMs: number) {
    super(ErrorCode.SIGNAL_TIMEOUT, `Task ${taskId} got no signal "${signal}" within ${timeoutMs} ms.`, {
      details: { taskId, signal, timeoutMs },
    });
    this.name = "SignalTimeoutError";
  }
}

/** The task is finished; it takes no more signals. */
export class TaskFinishedError extends TaskwireError {
  override readonly retriable = false;
  constructor(taskId: string, status: string) {
    super(ErrorCode.TASK_FINISHED, `Task ${taskId} is already ${status}.`, { details: { taskId, status } });
    this.name = "TaskFinishedError";
  }
}

/** Only a `failed` task can be retried; `details.status` is the task's current status. */
export class NotResumableError extends TaskwireError {
  override readonly retriable = false;
  constructor(taskId: string, status: string) {
    super(ErrorCode.NOT_RESUMABLE, `Task ${taskId} is ${status}; only a failed task can be retried.`, {
      details: { taskId, status },
    });
    this.name = "NotResumableError";
  }
}
