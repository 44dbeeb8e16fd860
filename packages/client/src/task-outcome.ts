import { TaskCancelledError, TaskFailedError } from "./errors";
import type { TaskSnapshotJson } from "./types";

/** How a finished task settles a subscription's `result`: its result, or the error it rejects with. */
export type TaskOutcome = { result: unknown } | { error: TaskFailedError | TaskCancelledError };

const TERMINAL_NAMES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);

/** Whether a frame's event name is a terminal one (`completed`, `failed`, `cancelled`). */
export function isTerminalName(name: string): boolean {
  return TERMINAL_NAMES.has(name);
}

/** The outcome a terminal frame carries (`completed` `{ result }`, `failed` `{ error }`, `cancelled` `{ reason }`). */
export function outcomeOfTerminal(taskId: string, name: string, data: unknown): TaskOutcome {
  const payload = (data ?? {}) as {
    result?: unknown;
    error?: { code?: unknown; message?: unknown };
    reason?: unknown;
  };
  if (name === "completed") return { result: payload.result };
  if (name === "failed")
    return {
      error: new TaskFailedError(taskId, {
        code: String(payload.error?.code ?? "INTERNAL"),
        message: String(payload.error?.message ?? `Task ${taskId} failed.`),
      }),
    };
  const reason = typeof payload.reason === "string" ? payload.reason : undefined;
  return { error: new TaskCancelledError(taskId, reason) };
}

/** The outcome a snapshot shows, or `undefined` while the task is not terminal (e.g. retried). */
export function outcomeOfSnapshot(taskId: string, snapshot: TaskSnapshotJson): TaskOutcome | undefined {
  if (snapshot.status === "completed") return { result: snapshot.result };
  if (snapshot.status === "failed")
    return { error: new TaskFailedError(taskId, snapshot.error ?? { code: "INTERNAL", message: "failed" }) };
  if (snapshot.status === "cancelled") return { error: new TaskCancelledError(taskId) };
  return undefined;
}

/** Whether `error` is a task outcome (the iterator may drain up to the terminal event) rather than a failure. */
export function isOutcome(error: unknown): boolean {
  return error instanceof TaskFailedError || error instanceof TaskCancelledError;
}
