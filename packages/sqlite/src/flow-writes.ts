import {
  CancelledError,
  type CancelOutcome,
  CHILD_EVENT,
  type ChildSpawn,
  isTerminalStatus,
  type Lease,
  type NewSignal,
  NotResumableError,
  newTaskRecord,
  type SignalDelivery,
  StoreConflictError,
  TaskFinishedError,
  TaskNotFoundError,
  type TaskRecord,
} from "@taskwire/core/store";
import type { Doorbells } from "./doorbells";
import { finishTask } from "./finish-task";
import { toTaskRecord } from "./rows";
import type { Statements } from "./statements";
import { holdsLease, insertTask, leaseFailure } from "./task-writes";
import { OpFailure, type WriteOp } from "./write-queue";

/*
 * The write operations of flows (cancel, children, signals, retry). Same rule as task-writes.ts: every
 * logical failure is detected by a read or a conditional statement before anything is written, so a
 * failing op leaves nothing behind and its batch still commits.
 */

/**
 * Records a sticky cancel request. An unclaimed task without active children is cancelled at once (CAS on
 * revision); one with active children is queued at `now` so a worker cancels them first; a running task is
 * only marked (its worker settles it).
 */
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
    const changed = () => new OpFailure(new StoreConflictError(taskId, "the task changed during the cancel"));
    if (current.status !== "running" && s.activeChild.get(taskId) === undefined) {
      const row = s.cancelWaiting.get(now, now, taskId, current.revision);
      if (!row) return changed();
      finishTask(s, bells, batch, { taskId, status: "cancelled", event, now });
      return { task: toTaskRecord(row), outcome: "cancelled" };
    }
    const row =
      current.status === "running"
        ? s.cancelRunning.get(now, now, taskId, current.revision)
        : s.cancelLater.get(now, now, now, taskId, current.revision);
    if (!row) return changed();
    if (current.status !== "running") batch.afterCommit(() => bells.ringWork());
    if (first) batch.afterCommit(() => bells.cancelRequested(taskId));
    return { task: toTaskRecord(row), outcome: first ? "requested" : "already_requested" };
  };
}

/** Creates a child under the parent's lease, with the parent's spawn checkpoint and `child` event. */
export function spawnChildOp(
  s: Statements,
  bells: Doorbells,
  lease: Lease,
  spawn: ChildSpawn,
): WriteOp<void> {
  return (batch) => {
    const parent = s.getTask.get(lease.taskId);
    if (!parent || !holdsLease(parent, lease))
      return leaseFailure(s, lease, () => "the lease is no longer held");
    const { step, now } = spawn;
    if (s.stepTaken.get(parent.id, step.position) !== undefined) {
      return new OpFailure(new StoreConflictError(parent.id, `step #${step.position} is already recorded`));
    }
    if (parent.cancel_requested_at !== null) return new OpFailure(new CancelledError(parent.id));
    const child = newTaskRecord({
      ...spawn.child,
      owner: parent.owner,
      identity: parent.identity,
      parentId: parent.id,
      now,
    });
    if (!insertTask(s, child)) {
      return new OpFailure(new StoreConflictError(child.id, "a task with this id already exists"));
    }
    // Nothing can fail from here: the fence, the position and the child id were checked above.
    s.insertStep.run(
      parent.id,
      step.position,
      step.key,
      step.output,
      step.emits,
      step.startedAt,
      step.at,
      step.attempts,
      parent.id,
      lease.revision,
      lease.workerId,
    );
    s.notify.run(1, now, now, parent.id); // the parent runs: this only takes its next seq
    s.insertEvent.run(parent.id, parent.last_seq + 1, CHILD_EVENT, spawn.event, now);
    batch.afterCommit(() => {
      bells.ringEvents(parent.id);
      bells.ringWork();
    });
  };
}

/** Records a signal after the task's others of that name, waking the task if it waits. */
export function deliverSignalOp(s: Statements, bells: Doorbells, signal: NewSignal): WriteOp<SignalDelivery> {
  return (batch) => {
    const { taskId, name, now } = signal;
    const key = signal.idempotencyKey ?? null;
    const prior = key === null ? undefined : s.signalByKey.get(taskId, key);
    const row = s.getTask.get(taskId);
    if (!row) return new OpFailure(new TaskNotFoundError(taskId));
    // A retried delivery is answered before the status check: the first one may have finished the task.
    if (prior !== undefined) return { task: toTaskRecord(row), index: prior, duplicate: true };
    if (isTerminalStatus(row.status)) return new OpFailure(new TaskFinishedError(taskId, row.status));
    const index = (s.lastSignalIndex.get(taskId, name) ?? -1) + 1;
    s.insertSignal.run(taskId, name, index, signal.payload, key, now);
    s.notify.run(0, now, now, taskId);
    const task = toTaskRecord(row);
    task.updatedAt = now;
    if (row.status === "waiting") {
      wakeRecord(task, now);
      batch.afterCommit(() => bells.ringWork());
    }
    return { task, index, duplicate: false };
  };
}

/** Puts a failed task back to `queued` at `now` (CAS on status and revision), attempt + 1. */
export function retryTaskOp(
  s: Statements,
  bells: Doorbells,
  taskId: string,
  now: number,
): WriteOp<TaskRecord> {
  return (batch) => {
    const row = s.getTask.get(taskId);
    if (!row) return new OpFailure(new TaskNotFoundError(taskId));
    if (row.status !== "failed" || s.retry.run(now, now, taskId, row.revision).changes === 0) {
      return new OpFailure(new NotResumableError(taskId, row.status));
    }
    const task = toTaskRecord(row);
    wakeRecord(task, now);
    task.attempt += 1;
    batch.afterCommit(() => bells.ringWork());
    return task;
  };
}

/** Mirrors a wake-up written by SQL on a record read before it: `queued` at `now`, new revision. */
function wakeRecord(task: TaskRecord, now: number): void {
  task.status = "queued";
  task.runAt = now;
  task.revision += 1;
  task.updatedAt = now;
}
