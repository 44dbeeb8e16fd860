import { hasRunningLimits, PAIR_SEPARATOR, planLimitedClaim, RunningSlots } from "./running-limits";
import { ACTIVE_STATUSES, type ClaimRequest, type TaskRecord } from "./task-store";

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

/**
 * The tasks a claim takes, in claim order (not yet claimed): due `queued`/`retrying`/`waiting` tasks and
 * `running` ones whose lease expired, of the request's names, up to its limit — under its running caps
 * when it has any (see `planLimitedClaim`).
 */
export function claimCandidates(
  tasks: Iterable<TaskRecord>,
  request: ClaimRequest,
  compare: (a: TaskRecord, b: TaskRecord) => number,
): TaskRecord[] {
  const { now } = request;
  const all = [...tasks];
  const pick = (names: ReadonlySet<string>, skip: (t: TaskRecord) => boolean, limit: number) =>
    all
      .filter(
        (t) =>
          names.has(t.name) &&
          (((t.status === "queued" || t.status === "retrying" || t.status === "waiting") && t.runAt <= now) ||
            (t.status === "running" && (t.leaseExpiresAt ?? 0) < now)) &&
          !skip(t),
      )
      .sort(compare)
      .slice(0, limit);
  if (!hasRunningLimits(request.running)) return pick(new Set(request.names), () => false, request.limit);
  const running = all.filter((t) => t.status === "running" && (t.leaseExpiresAt ?? 0) >= now);
  const plan = planLimitedClaim<TaskRecord>(
    new RunningSlots(request.running, running),
    request.names,
    request.limit,
  );
  let step = plan.next();
  while (!step.done) {
    const q = step.value;
    const [owners, pairs, ids] = [new Set(q.owners), new Set(q.pairs), new Set(q.ids)];
    const skip = (t: TaskRecord) =>
      owners.has(t.owner) || pairs.has(t.name + PAIR_SEPARATOR + t.owner) || ids.has(t.id);
    step = plan.next(pick(new Set(q.names), skip, q.limit));
  }
  return step.value;
}
