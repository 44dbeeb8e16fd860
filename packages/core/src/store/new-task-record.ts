import type { NewTask, TaskRecord } from "./task-store";

/**
 * The record `TaskStore.createTask` inserts for `spec`: `queued` (revision 1, claims 0, no lease), or,
 * with `claimFor`, already `running` under that worker's lease (revision 2, claims 1,
 * `leaseExpiresAt = now + leaseMs`; never with `debounce`). Attempt 1, lastSeq 0, emits 0, no result, error or
 * cancel request.
 * @example const task = newTaskRecord(spec); insert(task); return { created: true, task };
 */
export function newTaskRecord(spec: NewTask): TaskRecord {
  const claim = claimsAtInsert(spec);
  return {
    id: spec.id,
    name: spec.name,
    status: claim ? "running" : "queued",
    revision: claim ? 2 : 1,
    input: spec.input,
    result: null,
    error: null,
    owner: spec.owner,
    identity: spec.identity,
    attempt: 1,
    claims: claim ? 1 : 0,
    runAt: spec.runAt,
    leaseOwner: claim ? claim.workerId : null,
    leaseExpiresAt: claim ? spec.now + claim.leaseMs : null,
    cancelRequestedAt: null,
    lastSeq: 0,
    emits: 0,
    parentId: spec.parentId,
    priority: spec.priority ?? 0,
    createdAt: spec.now,
    updatedAt: spec.now,
  };
}

/**
 * The claim `createTask` takes with the insert: `claimFor`, except with `debounce` (a debounced task waits
 * out its quiet period `queued`, so later starts can still update it). Undefined means inserted `queued`
 * (what `maxQueued` counts).
 */
export function claimsAtInsert(spec: NewTask): NewTask["claimFor"] {
  return spec.debounce ? undefined : spec.claimFor;
}
