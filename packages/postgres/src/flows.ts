import {
  CancelledError,
  type ChildSpawn,
  type Lease,
  type NewSignal,
  NotResumableError,
  type SignalDelivery,
  StoreConflictError,
  TaskFinishedError,
  TaskNotFoundError,
  type TaskRecord,
  type WakeOn,
} from "@taskwire/core/store";
import { type TaskRow, toTaskRecord } from "./rows";
import { isUniqueViolation, type StoreDb } from "./store-db";

/** The largest value of an `integer` column: an index past it cannot exist. */
const MAX_INT = 2_147_483_647;

/** Whether `index` can be a signal index (a non-negative `integer`). */
export function isIndex(index: number): boolean {
  return Number.isInteger(index) && index >= 0 && index <= MAX_INT;
}

/**
 * A `waiting` settlement: `values` are the `settleTask` statement's parameters.
 *
 * Why a wake-up racing it is never lost (READ COMMITTED, any number of nodes): in ONE transaction,
 * (a) the fenced UPDATE to `waiting` takes the task's row lock, THEN (b) a separate statement — so it
 * reads a snapshot taken after (a) held the lock — checks `wakeOn` and, if a child is terminal or the
 * signal is there, makes the task `queued` at `now`. Every writer that can wake a task (a child's
 * terminal settlement, a signal delivery, a cancel request) UPDATEs the task's row unconditionally in the
 * same transaction as the change it makes, so it needs that same row lock. Either the waker got the lock
 * first: (a) waits for its commit, and (b), which starts after that, sees the terminal child or the signal;
 * or (a) got it first: the waker blocks until this transaction commits, then re-reads the row, finds it
 * `waiting` and wakes it. A single statement would not do: its snapshot is taken before (a) waits for the
 * lock, so it could miss a waker that committed while it waited.
 */
export async function settleWaiting(
  db: StoreDb,
  lease: Lease,
  values: unknown[],
  wakeOn: WakeOn,
  now: number,
): Promise<void> {
  const children = [...(wakeOn.children ?? [])];
  const signals = (wakeOn.signals ?? []).filter((s) => isIndex(s.index));
  const lost = () => new StoreConflictError(lease.taskId, "the task changed concurrently");
  if (children.length === 0 && signals.length === 0 && !wakeOn.cancel) {
    // Only time wakes it (a durable timer): one fenced statement.
    if ((await db.query(db.sql.settleTask, values)).length === 0) await db.explain(lease, lost);
    return;
  }
  const woken = await db.transaction(async (run) => {
    if ((await run(db.sql.settleTask, values)).length === 0) return undefined;
    const names = signals.map((s) => s.name);
    const indexes = signals.map((s) => s.index);
    const onCancel = wakeOn.cancel === true;
    return (await run(db.sql.wakeIfDue, [lease.taskId, now, children, names, indexes, onCancel])).length > 0;
  });
  if (woken === undefined) await db.explain(lease, lost);
  else if (woken) db.committed("work", lease.taskId);
}

/** `TaskStore.spawnChild`: one fenced statement; the failure path explains itself with extra reads. */
export async function spawnChild(db: StoreDb, lease: Lease, spawn: ChildSpawn): Promise<void> {
  const { step, child } = spawn;
  const taken = () => new StoreConflictError(lease.taskId, `step #${step.position} is already recorded`);
  const values = [
    lease.taskId,
    lease.revision,
    lease.workerId,
    step.position,
    step.key,
    step.output,
    step.emits,
    step.at,
    child.id,
    child.name,
    child.input,
    child.runAt,
    spawn.now,
    spawn.event,
    step.startedAt,
    step.attempts,
    child.priority ?? 0,
  ];
  let spawned: boolean;
  try {
    spawned = (await db.query(db.sql.spawnChild, values)).length > 0;
  } catch (error) {
    if (!isUniqueViolation(error, "steps_pkey")) throw error;
    return db.explain(lease, taken);
  }
  if (!spawned) {
    // The lease is held, so the fence failed on the cancel request; a taken position still comes first.
    return db.explain(lease, async (state) => {
      if (!state.cancelRequested)
        return new StoreConflictError(lease.taskId, "the task changed concurrently");
      const [recorded] = await db.query(db.sql.stepTaken, [lease.taskId, step.position]);
      return recorded ? taken() : new CancelledError(lease.taskId);
    });
  }
  db.committed("events", lease.taskId);
  db.committed("work", child.id);
}

interface LockRow {
  before: TaskRow;
  after: TaskRow | null;
  duplicate: number | null;
}

/**
 * `TaskStore.deliverSignal` in one transaction: `lockForSignal` takes the task's row lock (and wakes it
 * if it waits: the unconditional UPDATE is what a racing `waiting` settlement relies on, see
 * {@link settleWaiting}), then `insertSignal`, a new statement, numbers the signal after every delivery
 * committed by an earlier holder of the lock — so indexes follow arrival order, without gaps or twins.
 */
export async function deliverSignal(db: StoreDb, signal: NewSignal): Promise<SignalDelivery> {
  const { taskId, now } = signal;
  const key = signal.idempotencyKey ?? null;
  let woken = false;
  let delivery: SignalDelivery;
  try {
    delivery = await db.transaction(async (run) => {
      const [row] = await run<LockRow>(db.sql.lockForSignal, [taskId, key, now]);
      if (!row) throw new TaskNotFoundError(taskId);
      const { before, after, duplicate } = row;
      if (duplicate !== null) return { task: toTaskRecord(before), index: duplicate, duplicate: true };
      if (!after) throw new TaskFinishedError(taskId, before.status);
      const values = [taskId, signal.name, signal.payload, key, now];
      const [inserted] = await run<{ idx: number }>(db.sql.insertSignal, values);
      woken = before.status === "waiting";
      return { task: toTaskRecord(after), index: inserted!.idx, duplicate: false };
    });
  } catch (error) {
    // A delivery with the same key committed after `lockForSignal` read its snapshot (it waited for the
    // lock): that one is the first; this transaction was rolled back, so nothing of it was written.
    if (key === null || !isUniqueViolation(error, "signals_idempotency_idx")) throw error;
    const [first] = await db.query<{ idx: number }>(db.sql.signalByKey, [taskId, key]);
    const [row] = await db.query<TaskRow>(db.sql.getTask, [taskId]);
    if (!first || !row) throw error;
    return { task: toTaskRecord(row), index: first.idx, duplicate: true };
  }
  if (woken) db.committed("work", taskId);
  return delivery;
}

/** `TaskStore.readSignal`. */
export async function readSignal(
  db: StoreDb,
  taskId: string,
  name: string,
  index: number,
): Promise<string | undefined> {
  if (!isIndex(index)) return undefined;
  const [row] = await db.query<{ payload: string }>(db.sql.readSignal, [taskId, name, index]);
  return row?.payload;
}

/** `TaskStore.retryTask`: one compare-and-swap; a refusal reads the status it reports. */
export async function retryTask(db: StoreDb, taskId: string, now: number): Promise<TaskRecord> {
  const [row] = await db.query<TaskRow>(db.sql.retryTask, [taskId, now]);
  if (row) {
    db.committed("work", taskId);
    return toTaskRecord(row);
  }
  const [current] = await db.query<{ status: string }>(db.sql.taskStatus, [taskId]);
  if (!current) throw new TaskNotFoundError(taskId);
  throw new NotResumableError(taskId, current.status);
}
