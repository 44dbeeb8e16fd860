import { ACTIVE_STATUSES, type TaskRecord } from "./task-store";

/**
 * The memory store's fair turns (see the `TaskStore` glossary): task id → turn, assigned at create and
 * dropped with the task. SQL stores keep the same number in a `fair_seq` column.
 */
export class FairTurns {
  #turns = new Map<string, number>();

  /** Assigns `task` its turn: one past its owner's highest unfinished turn, never below the queue's lowest at its priority. */
  assign(task: TaskRecord, all: Iterable<TaskRecord>): void {
    let ownerMax = -1;
    let floor = Number.POSITIVE_INFINITY;
    for (const t of all) {
      if (t.id === task.id) continue;
      const turn = this.of(t);
      if (t.owner === task.owner && ACTIVE_STATUSES.includes(t.status)) ownerMax = Math.max(ownerMax, turn);
      if (t.status === "queued" && t.priority === task.priority) floor = Math.min(floor, turn);
    }
    this.#turns.set(task.id, Math.max(ownerMax + 1, floor === Number.POSITIVE_INFINITY ? 0 : floor));
  }

  /** The turn of a task (0 if it has none). */
  of(task: TaskRecord): number {
    return this.#turns.get(task.id) ?? 0;
  }

  /** Forgets a deleted task. */
  delete(taskId: string): void {
    this.#turns.delete(taskId);
  }

  /** Claim order: priority desc, then fair turn, then oldest `runAt` (a stable sort keeps creation order). */
  compare = (a: TaskRecord, b: TaskRecord): number =>
    b.priority - a.priority || this.of(a) - this.of(b) || a.runAt - b.runAt;
}
