import {
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  claimsAtInsert,
  hasRunningLimits,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type NewEvent,
  type NewTask,
  newTaskRecord,
  type Settlement,
  type StepRecord,
  StoreConflictError,
  type TaskRecord,
  type TokenBucket,
  takeStartToken,
} from "@taskwire/core/store";
import { foldDebounced, openDebounceWindow } from "./debounce";
import type { Doorbells } from "./doorbells";
import { finishTask, wakeDue } from "./finish-task";
import { limitedClaimRows } from "./limited-claim";
import { encodeError, type TaskRow, type TaskValues, toTaskRecord, valuesToTaskRecord } from "./rows";
import { byClaimOrder, CLAIM_ROW, type ClaimRow, type SettleParams, type Statements } from "./statements";
import { OpFailure, type WriteOp } from "./write-queue";

/*
 * The write operations, each a synchronous function run inside a group-commit transaction (see
 * write-queue.ts). Rule for every op: detect logical failures (lost lease, wrong seq, duplicate) with a
 * read or with the `changes` of a conditional statement BEFORE writing anything else, and report them as
 * an `OpFailure`. That way a failing op leaves nothing behind and never costs its batch a rollback.
 */

/** Inserts a task (optionally claimed), honouring an unexpired idempotency key or a debounce window first. */
export function createTaskOp(s: Statements, spec: NewTask): WriteOp<CreateTaskResult> {
  return () => {
    const debounce = spec.debounce && { ...spec, debounce: spec.debounce };
    if (debounce) {
      // Before any limit: a start folded into its window creates nothing, so it is never refused.
      const folded = foldDebounced(s, debounce);
      if (folded) return { created: false, task: folded, conflict: false, debounced: true };
    }
    const idem = debounce ? undefined : spec.idempotency;
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
      if (active >= spec.maxActivePerOwner) {
        return { created: false, limited: true, limit: "maxActivePerOwner", active };
      }
    }
    // The bucket is decided here but stored only after every limit admitted and the insert succeeded.
    const take = spec.startRate && takeStartToken(readBucket(s, spec.owner), spec.startRate, spec.now);
    if (take && !take.admitted) {
      return { created: false, limited: true, limit: "startRate", retryAfterMs: take.retryAfterMs };
    }
    if (spec.maxQueued !== undefined && !claimsAtInsert(spec)) {
      const queued = s.countQueued.get() ?? 0;
      if (queued >= spec.maxQueued) return { created: false, limited: true, limit: "maxQueued", queued };
    }
    const task = newTaskRecord(spec);
    if (!insertTask(s, task)) {
      return new OpFailure(new StoreConflictError(spec.id, "a task with this id already exists"));
    }
    // An expired (or orphaned) key is taken over by the new task.
    if (idem) s.putIdempotency.run(spec.owner, spec.name, idem.key, spec.id, idem.inputHash, idem.expiresAt);
    if (take?.admitted) s.putBucket.run(spec.owner, take.bucket.tokens, take.bucket.updatedAt);
    if (debounce) openDebounceWindow(s, debounce);
    if (task.leaseOwner === null) return { created: true, task };
    return {
      created: true,
      task,
      lease: { taskId: task.id, workerId: task.leaseOwner, revision: task.revision },
    };
  };
}

function readBucket(s: Statements, owner: string): TokenBucket | undefined {
  const row = s.getBucket.get(owner);
  return row && { tokens: row.tokens, updatedAt: row.updated_at };
}

/** Inserts a record built by `newTaskRecord`; false when the id is taken (nothing written). */
export function insertTask(s: Statements, task: TaskRecord): boolean {
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
    task.createdAt,
    task.updatedAt,
    task.priority,
    task.owner,
    task.priority,
  );
  return inserted.changes > 0;
}

/**
 * Claims ready and lease-expired tasks in claim order (priority desc, fair turn, oldest `run_at`), each by
 * a compare-and-swap on its revision.
 */
export function claimTasksOp(s: Statements, request: ClaimRequest): WriteOp<ClaimedTask[]> {
  return () => {
    const { now, workerId } = request;
    const rows = hasRunningLimits(request.running)
      ? limitedClaimRows(s, request, request.running)
      : claimRows(s, request);
    const claimed: ClaimedTask[] = [];
    const expiresAt = now + request.leaseMs;
    for (const row of rows) {
      const { changes } = s.claim.run(
        workerId,
        expiresAt,
        now,
        row[CLAIM_ROW.rowid],
        row[CLAIM_ROW.revision],
      );
      if (changes === 0) continue; // cannot happen under the write lock; the CAS makes it safe if it ever did
      const task = valuesToTaskRecord(row as unknown as TaskValues);
      const reclaimed = task.status === "running"; // an expired lease taken over
      task.status = "running";
      task.revision += 1;
      task.claims += 1;
      task.leaseOwner = workerId;
      task.leaseExpiresAt = expiresAt;
      task.updatedAt = now;
      claimed.push({ task, lease: { taskId: task.id, workerId, revision: task.revision }, reclaimed });
    }
    return claimed;
  };
}

/** The rows an uncapped claim takes, in claim order. */
function claimRows(s: Statements, { now, limit, names: all }: ClaimRequest): ClaimRow[] {
  const one = all.length === 1;
  const names = one ? (all[0] as string) : JSON.stringify(all);
  let rows = (one ? s.claimQueued : s.claimQueuedIn).all(now, names, limit);
  for (const more of [
    (one ? s.claimRetrying : s.claimRetryingIn).all(now, names, limit),
    (one ? s.claimWaiting : s.claimWaitingIn).all(now, names, limit),
    (one ? s.claimExpired : s.claimExpiredIn).all(now, names, limit),
  ]) {
    if (more.length === 0) continue;
    rows = rows.concat(more).sort(byClaimOrder);
    if (rows.length > limit) rows.length = limit;
  }
  return rows;
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
      step.startedAt,
      step.at,
      step.attempts,
      lease.taskId,
      lease.revision,
      lease.workerId,
    );
    if (changes === 0) return leaseFailure(s, lease, () => `step #${step.position} is already recorded`);
  };
}

/** Appends the next emitted event: a CAS on `emits` under the fence, then the insert at the new `last_seq`. */
export function appendEventOp(
  s: Statements,
  bells: Doorbells,
  lease: Lease,
  event: NewEvent,
): WriteOp<number> {
  return (batch) => {
    const { changes } = s.advanceEmit.run(lease.taskId, lease.revision, lease.workerId, event.position);
    if (changes === 0) {
      return leaseFailure(
        s,
        lease,
        (row) => `emit position ${event.position} is not the next one ${row.emits}`,
      );
    }
    const seq = s.lastSeq.get(lease.taskId) as number;
    s.insertEvent.run(lease.taskId, seq, event.name, event.data, event.at);
    batch.afterCommit(() => bells.ringEvents(lease.taskId));
    return seq;
  };
}

/**
 * Ends the lease with a fenced CAS. Terminal settlements go on in {@link finishTask}; a `waiting` one
 * whose wake-up already happened (a child terminal, a signal there) is written `queued` at `now` instead.
 */
export function settleTaskOp(
  s: Statements,
  bells: Doorbells,
  lease: Lease,
  settlement: Settlement,
  now: number,
): WriteOp<void> {
  return (batch) => {
    let status: string = settlement.status;
    let runAt = "runAt" in settlement ? settlement.runAt : null;
    const woken = settlement.status === "waiting" && wakeDue(s, lease.taskId, settlement.wakeOn);
    if (woken) {
      status = "queued";
      runAt = now;
    }
    const params: SettleParams = [
      status,
      now,
      settlement.status === "completed" ? settlement.result : null,
      settlement.status === "failed" || settlement.status === "retrying"
        ? encodeError(settlement.error)
        : null,
      settlement.status === "retrying" ? 1 : 0,
      runAt,
      isTerminalStatus(settlement.status) ? 1 : 0,
      lease.taskId,
      lease.revision,
      lease.workerId,
    ];
    if (s.settle.run(...params).changes === 0)
      return leaseFailure(s, lease, () => "the lease is no longer held");
    // The settle bumped last_seq when terminal: the terminal event takes that seq.
    if ("event" in settlement) {
      const { status: ended, event } = settlement;
      finishTask(s, bells, batch, { taskId: lease.taskId, status: ended, event, now });
    } else if (woken) {
      batch.afterCommit(() => bells.ringWork());
    }
  };
}

/** Whether `row` is still held under `lease` (the fence, read in JS under the write lock). */
export function holdsLease(row: TaskRow, lease: Lease): boolean {
  return row.status === "running" && row.revision === lease.revision && row.lease_owner === lease.workerId;
}

/**
 * Explains why a fenced write changed nothing: a lost lease (the task reclaimed, settled, or deleted by
 * retention or erasure), or, the lease still held, `otherwise(row)`.
 */
export function leaseFailure(s: Statements, lease: Lease, otherwise: (row: TaskRow) => string): OpFailure {
  const row = s.getTask.get(lease.taskId);
  if (!row) return new OpFailure(new StoreConflictError(lease.taskId, "the task no longer exists"));
  return new OpFailure(
    new StoreConflictError(
      lease.taskId,
      holdsLease(row, lease) ? otherwise(row) : "the lease is no longer held",
    ),
  );
}
