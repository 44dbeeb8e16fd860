import { claimsAtInsert } from "./new-task-record";
import { type TokenBucket, type TokenTake, takeStartToken } from "./start-rate";
import { ACTIVE_STATUSES, type LimitedResult, type NewTask, type TaskRecord } from "./task-store";

/**
 * The memory store's start limits, in the interface's order (`maxActivePerOwner`, `startRate`,
 * `maxQueued`): the refusal, or the admitted start-rate take (its bucket is stored only once the insert
 * goes ahead, so a refusal by a later limit writes nothing).
 */
export function checkStartLimits(
  spec: NewTask,
  tasks: Iterable<TaskRecord>,
  bucket: TokenBucket | undefined,
): LimitedResult | { take: (TokenTake & { admitted: true }) | undefined } {
  if (spec.maxActivePerOwner !== undefined) {
    let active = 0;
    for (const t of tasks) if (t.owner === spec.owner && ACTIVE_STATUSES.includes(t.status)) active++;
    if (active >= spec.maxActivePerOwner) {
      return { created: false, limited: true, limit: "maxActivePerOwner", active };
    }
  }
  const take = spec.startRate && takeStartToken(bucket, spec.startRate, spec.now);
  if (take && !take.admitted) {
    return { created: false, limited: true, limit: "startRate", retryAfterMs: take.retryAfterMs };
  }
  if (spec.maxQueued !== undefined && !claimsAtInsert(spec)) {
    let queued = 0;
    for (const t of tasks) if (t.status === "queued") queued++;
    if (queued >= spec.maxQueued) return { created: false, limited: true, limit: "maxQueued", queued };
  }
  return { take: take || undefined };
}
