import { isTaskwireError } from "../errors/taskwire-error";
import { ACTIVE_STATUSES, type CancelOutcome, type TaskStore } from "../store/task-store";
import { cancelledEventData } from "./cancelled-event";

/** How often a cancel request is retried against the fresh record after a revision race. */
const CONFLICT_RETRIES = 20;

/**
 * Records a cancel request; a revision conflict (another writer changed the task meanwhile) is retried
 * against the fresh record, never turned into a silent no-op. `undefined` when the task does not exist.
 */
export async function requestCancel(
  store: TaskStore,
  taskId: string,
  now: number,
): Promise<CancelOutcome | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.requestCancel(taskId, now, cancelledEventData());
    } catch (error) {
      if (isTaskwireError(error, "TASK_NOT_FOUND")) return undefined;
      if (!isTaskwireError(error, "STORE_CONFLICT") || attempt >= CONFLICT_RETRIES) throw error;
    }
  }
}

/**
 * Cancels every active child of `taskId`, and theirs, depth first. A child that settles at once (it was
 * not running) notifies its parent in the same write; a running one is stopped by its worker, wherever it
 * runs. Returns the ids of the direct children still active (their parent waits for them).
 */
export async function cancelChildren(store: TaskStore, taskId: string, now: number): Promise<string[]> {
  const children = await store.listTasks({ parentId: taskId, status: ACTIVE_STATUSES, limit: 100_000 });
  const active: string[] = [];
  for (const child of children) {
    const result = await requestCancel(store, child.id, now);
    if (!result || result.outcome === "cancelled" || result.outcome === "already_finished") continue;
    active.push(child.id);
    // Grandchildren too, at once: the child's own worker would do it when it settles, but a request
    // recorded first stops their spawns (spawn after intent fails) and their work sooner.
    await cancelChildren(store, child.id, now);
  }
  return active;
}
