import {
  type CancelOutcome,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type NewTask,
  newTaskRecord,
  type Settlement,
  type StepRecord,
  StoreConflictError,
  TaskNotFoundError,
} from "@taskwire/core/store";
import type { Doorbells } from "./doorbells";
import { encodeError, type TaskRow, type TaskValues, toTaskRecord, valuesToTaskRecord } from "./rows";
import type { SettleParams, Statements } from "./statements";
import { OpFailure, type WriteOp } from "./write-queue";

/*
 * The write operations, each a synchronous function run inside a group-commit transaction (see
 * write-queue.ts). Rule for every op: detect logical failures (lost lease, wrong seq, duplicate) with a
 * read or with the `changes` of a conditional statement BEFORE writing anything else, and report them as
 * an `OpFailure`. That way a failing op leaves nothing behind and never costs its batch a rollback.
 */

/** Inserts a task (optionally claimed), honouring an unexpired idempotency key first. */
export function createTaskOp(s: Statements, spec: NewTask): WriteOp<CreateTaskResult> {
  return () => {
    const idem = spec.idempotency;
    if (idem) {
      const existing = s.getIdempotency.get(spec.owner, spec.name, idem.key);
      const prior = existing && existing.expires_at > spec.now ? s.getTask.get(existing.task_id) : undefined;
      if (existing && prior) {
        return {
          created: false,
          task: toTaskRecord(prior),
          conflict: existing.input_hash !== idem.inputHash,
        };
      }
    }
    // After the key (a live key attaches even at the limit); atomic: ops of a batch run one by one
    // inside its BEGIN IMMEDIATE transaction, and other processes wait for the write lock.
    if (spec.maxActivePerOwner !== undefined) {
      const active = s.countActive.get(spec.owner) ?? 0;
      if (active >= spec.maxActivePerOwner) return { created: false, limited: true, active };
    }
    const task = newTaskRecord(spec);
    const inserted = s.insertTask.run(
      task.id,
      task.name,
      task.status,
      task.revision,
      task.input,
      task.owner,
      task.identity,
      task.claims,
      task.runAt,
      task.leaseOwner,
      task.leaseExpiresAt,
      task.parentId,
      spec.now,
      spec.now,
    );
    if (inserted.changes === 0) {
      return new OpFailure(new StoreConflictError(spec.id, "a task with this id already exists"));
    }
    // An expired (or orphaned) key is taken over by the new task.
    if (idem) s.putIdempotency.run(spec.owner, spec.name, idem.key, spec.id, idem.inputHash, idem.expiresAt);
    if (task.leaseOwner === null) return { created: true, task };
    return {
      created: true,
      task,
      lease: { taskId: task.id, workerId: task.leaseOwner, revision: task.revision },
    };
  };
}

/** Claims ready and lease-expired tasks, oldest `run_at` first, each by a compare-and-swap on its revision. */
export function claimTasksOp(s: Statements, request: ClaimRequest): WriteOp<ClaimedTask[]> {
  return () => {
    const { now, limit, workerId } = request;
    const one = request.names.length === 1;
    const names = one ? (request.names[0] as string) : JSON.stringify(request.names);
    let rows = (one ? s.claimQueued : s.claimQueuedIn).all(now, names, limit);
    for (const more of [
      (one ? s.claimRetrying : s.claimRetryingIn).all(now, names, limit),
      (one ? s.claimExpired : s.claimExpiredIn).all(now, names, limit),
    ]) {
      if (more.length === 0) continue;
      rows = rows.concat(more).sort((a, b) => a[11] - b[11] || a[19] - b[19]); // run_at, rowid
      if (rows.length > limit) rows.length = limit;
    }
    const claimed: ClaimedTask[] = [];
    const expiresAt = now + request.leaseMs;
    for (const row of rows) {
      const { changes } = s.claim.run(workerId, expiresAt, now, row[19], row[3]);
      if (changes === 0) continue; // cannot happen under the write lock; the CAS makes it safe if it ever did
      const task = valuesToTaskRecord(row as unknown as TaskValues);
      task.status = "running";
      task.revision += 1;
      task.claims += 1;
      task.leaseOwner = workerId;
      task.leaseExpiresAt = expiresAt;
      task.updatedAt = now;
      claimed.push({ task, lease: { taskId: task.id, workerId, revision: task.revision } });
    }
    return claimed;
  };
}

/** Extends a held lease; reports whether it is held and whether a cancel is pending. */
export function renewLeaseOp(s: Statements, lease: Lease, now: number, leaseMs: number): WriteOp<LeaseState> {
  return () => {
    const held = s.renew.get(now + leaseMs, lease.taskId, lease.revision, lease.workerId);
    if (held) return { held: true, cancelRequested: held.cancel_requested_at !== null };
    const row = s.cancelRequestedAt.get(lease.taskId);
    return { held: false, cancelRequested: row !== undefined && row.cancel_requested_at !== null };
  };
}

/** Records a step checkpoint under the lease; the fence and the insert are one statement. */
export function appendStepOp(s: Statements, lease: Lease, step: StepRecord): WriteOp<void> {
  return () => {
    const { changes } = s.insertStep.run(
      lease.taskId,
      step.position,
      step.key,
      step.output,
      step.emits,
      step.at,
      lease.taskId,
      lease.revision,
      lease.workerId,
    );
    if (changes === 0) return leaseFailure(s, lease, () => `step #${step.position} is already recorded`);
  };
}

/** Appends the next event: a CAS on `last_seq` under the fence, then the insert. */
export function appendEventOp(
  s: Statements,
  bells: Doorbells,
  lease: Lease,
  event: EventRecord,
): WriteOp<void> {
  return (batch) => {
    const { changes } = s.advanceSeq.run(
      event.seq,
      lease.taskId,
      lease.revision,
      lease.workerId,
      event.seq - 1,
    );
    if (changes === 0) {
      return leaseFailure(
        s,
        lease,
        (row) => `event seq ${event.seq} is not the next seq ${row.last_seq + 1}`,
      );
    }
    s.insertEvent.run(lease.taskId, event.seq, event.name, event.data, event.at);
    batch.afterCommit(() => bells.ringEvents(lease.taskId));
  };
}

/** Ends the lease with a fenced CAS; terminal settlements append their event in the same transaction. */
export function settleTaskOp(
  s: Statements,
  bells: Doorbells,
  lease: Lease,
  settlement: Settlement,
  now: number,
): WriteOp<void> {
  return (batch) => {
    const params: SettleParams = [
      settlement.status,
      now,
      settlement.status === "completed" ? settlement.result : null,
      settlement.status === "failed" || settlement.status === "retrying"
        ? encodeError(settlement.error)
        : null,
      settlement.status === "retrying" ? 1 : 0,
      settlement.status === "retrying" || settlement.status === "queued" ? settlement.runAt : null,
      isTerminalStatus(settlement.status) ? 1 : 0,
      lease.taskId,
      lease.revision,
      lease.workerId,
    ];
    if (s.settle.run(...params).changes === 0)
      return leaseFailure(s, lease, () => "the lease is no longer held");
    if ("event" in settlement) {
      // The settle bumped last_seq when terminal: the event takes that seq.
      s.insertEvent.run(
        lease.taskId,
        s.lastSeq.get(lease.taskId) as number,
        settlement.status,
        settlement.event,
        now,
      );
      batch.afterCommit(() => bells.ringEvents(lease.taskId));
    }
  };
}

/** Records a sticky cancel request; cancels a waiting task at once (CAS on revision). */
export function requestCancelOp(
  s: Statements,
  bells: Doorbells,
  taskId: string,
  now: number,
  event: string,
): WriteOp<CancelOutcome> {
  return (batch) => {
    const current = s.getTask.get(taskId);
    if (!current) return new OpFailure(new TaskNotFoundError(taskId));
    if (isTerminalStatus(current.status)) return { task: toTaskRecord(current), outcome: "already_finished" };
    const first = current.cancel_requested_at === null;
    if (current.status === "queued" || current.status === "retrying") {
      const row = s.cancelWaiting.get(now, now, taskId, current.revision);
      if (!row) return new OpFailure(new StoreConflictError(taskId, "the task changed during the cancel"));
      s.insertEvent.run(taskId, row.last_seq, "cancelled", event, now);
      batch.afterCommit(() => bells.ringEvents(taskId));
      return { task: toTaskRecord(row), outcome: "cancelled" };
    }
    const row = s.cancelRunning.get(now, now, taskId, current.revision);
    if (!row) return new OpFailure(new StoreConflictError(taskId, "the task changed during the cancel"));
    if (first) batch.afterCommit(() => bells.cancelRequested(taskId));
    return { task: toTaskRecord(row), outcome: first ? "requested" : "already_requested" };
  };
}

/** Explains why a fenced write changed nothing: unknown task, lost lease, or `otherwise(row)`. */
function leaseFailure(s: Statements, lease: Lease, otherwise: (row: TaskRow) => string): OpFailure {
  const row = s.getTask.get(lease.taskId);
  if (!row) return new OpFailure(new TaskNotFoundError(lease.taskId));
  const held =
    row.status === "running" && row.revision === lease.revision && row.lease_owner === lease.workerId;
  return new OpFailure(
    new StoreConflictError(lease.taskId, held ? otherwise(row) : "the lease is no longer held"),
  );
}
