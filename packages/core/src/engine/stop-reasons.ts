import { ErrorCode } from "../errors/error-codes";
import { TaskwireError } from "../errors/taskwire-error";

/** Why a running handler's `ctx.signal` aborted; the runner settles accordingly. */
export type StopKind = "cancel" | "timeout" | "shutdown" | "lease_lost";

/** `ctx.signal.reason` when the worker stops a run for a reason other than cancel or timeout. */
export class RunStoppedError extends TaskwireError {
  readonly kind: StopKind;
  constructor(kind: StopKind, taskId: string, cause?: unknown) {
    const code = kind === "shutdown" ? ErrorCode.SHUTTING_DOWN : ErrorCode.STORE_CONFLICT;
    const why = kind === "shutdown" ? "the worker is shutting down" : "its lease was lost";
    super(code, `Task ${taskId} stopped on this worker: ${why}.`, { details: { taskId, kind }, cause });
    this.name = "RunStoppedError";
    this.kind = kind;
  }
}
