/**
 * `TaskStore` — the one seam between the engine and storage.
 *
 * Glossary
 * - **task**: one run of a task definition: its name, encoded input, owner, status and revision.
 * - **status**: `queued` (waiting to be claimed), `running` (claimed under a lease), `retrying` (waiting
 *   for its backoff to pass; claimable once `runAt <= now`), and the terminal `completed`, `failed`,
 *   `cancelled`.
 * - **revision**: a counter bumped by every status transition and every claim. Transitions are
 *   compare-and-swaps on it, so a lost race is detected (`StoreConflictError`), never overwritten.
 * - **lease**: the right of one worker to run a task until `leaseExpiresAt`. A claim takes it and bumps the
 *   revision; that revision is the **fencing token**: every write made under a lease (step, event, settle,
 *   renew) checks `revision = lease.revision AND status = 'running'` (and the lease owner) in the same
 *   atomic write, so a worker that lost its lease can never write to a task another worker now runs.
 *   Handing a task back (shutdown) is a `queued` settlement, fenced the same way.
 * - **step key / position**: a step checkpoint is identified by its position (0, 1, 2 … in call order
 *   within the task body) and carries its key (`fetchRows#0`). Replay compares keys by position.
 * - **WAL event**: a visible event with a per-task **seq** 1, 2, 3 … without gaps: emitted events, then
 *   exactly one terminal event (`completed`, `failed` or `cancelled`). Step checkpoints are recorded in
 *   their own table and never take a seq. `task.lastSeq` is the highest seq appended.
 * - **priority / fair turn**: claim order. A task's `priority` (higher first) is set at create; its *fair turn*
 *   is an internal counter the store assigns at create: one past the owner's highest unfinished turn, but
 *   never below the lowest turn queued at that priority. Claims read priority desc, then fair turn, then
 *   `runAt`, so two owners' backlogs interleave (A, B, A, B …) instead of one owner's flood going first.
 * - **doorbell**: a notification that something changed; it carries no data. Readers always re-read from
 *   their cursor, so a spurious or coalesced ring is harmless, and a missed one is not allowed.
 *
 * Times are epoch milliseconds supplied by the engine's clock (`now`), never read by the store itself,
 * so tests can drive time. Encoded values are strings produced by the core codec; the store never parses
 * them.
 */
import type { SerializedError } from "../errors/taskwire-error";
import type { RunningLimits } from "./running-limits";
import type { StartRate } from "./start-rate";

/** Lifecycle states of a task. */
export const TaskStatus = {
  QUEUED: "queued",
  RUNNING: "running",
  RETRYING: "retrying",
  WAITING: "waiting",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "cancelled",
} as const;
/** One of {@link TaskStatus}. */
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** Names of the terminal WAL events; they equal the terminal statuses. */
export type TerminalEventName = "completed" | "failed" | "cancelled";

/** Statuses a task never leaves; each is also the name of the WAL event that ends the task. */
export const TERMINAL_STATUSES: readonly TerminalEventName[] = Object.freeze([
  "completed",
  "failed",
  "cancelled",
]);

/** Whether `status` is terminal (`completed`, `failed`, `cancelled`). */
export function isTerminalStatus(status: string): status is TerminalEventName {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Whether a WAL event named `name` is the terminal one (`completed`, `failed`, `cancelled`). */
export function isTerminalEventName(name: string): name is TerminalEventName {
  return (TERMINAL_STATUSES as readonly string[]).includes(name);
}

/** A task row as the store keeps it. */
export interface TaskRecord {
  id: string;
  name: string;
  status: TaskStatus;
  revision: number;
  /** Encoded, already-validated input. */
  input: string;
  /** Encoded result once `completed`. */
  result: string | null;
  /**
   * The last error: final when `failed`, the cause of the wait when `retrying`; kept (for operators) when
   * a later attempt completes, though snapshots then show none.
   */
  error: SerializedError | null;
  /** Owner principal id (a user id, or the service principal). */
  owner: string;
  /** Identity sidecar (JSON, no secrets) re-entered as `ctx.user` on every run. */
  identity: string | null;
  /** Attempt number, 1-based; bumped when a failed attempt is scheduled for retry. */
  attempt: number;
  /** How many times the task has been claimed (crash reclaims included). */
  claims: number;
  /** Earliest time the task may be claimed. */
  runAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** Set once by the first cancel request; sticky. */
  cancelRequestedAt: number | null;
  lastSeq: number;
  /**
   * How many events the task itself emitted (its emit positions 0 … emits - 1). `lastSeq` also counts
   * terminal events and `child` bridge events, which take a seq but no emit position.
   */
  emits: number;
  parentId: string | null;
  /** Claim priority: higher is claimed first (the engine allows -10 … 10). */
  priority: number;
  createdAt: number;
  updatedAt: number;
}

/** The fencing token for writes made while running a claimed task. */
export interface Lease {
  taskId: string;
  workerId: string;
  /** The revision the claim produced; every fenced write checks it. */
  revision: number;
}

/** A task handed to a worker together with its lease. */
export interface ClaimedTask {
  task: TaskRecord;
  lease: Lease;
  /**
   * True when this claim took over an expired lease (the previous worker died or hung) rather than a
   * queued, retrying or waiting task (false then). Counted by metrics; the conformance suite checks it, and
   * the engine reads a missing value as false.
   */
  reclaimed?: boolean;
}

/** Idempotency data for {@link TaskStore.createTask}. */
export interface IdempotencySpec {
  key: string;
  /** Hash of the canonical input; a reuse with another hash is a conflict. */
  inputHash: string;
  /** The key deduplicates while `now < expiresAt`; from `expiresAt` on it is expired. */
  expiresAt: number;
}

/**
 * Debounce data for {@link TaskStore.createTask}: starts of one (owner, task name, `key`) collapse into one
 * task while it is still `queued` and never claimed (its debounce *window*).
 */
export interface DebounceSpec {
  key: string;
  /**
   * Cap of the window's `runAt`: a start that opens a window stores `now + maxWaitMs`, and no later start of
   * that window pushes `runAt` past it. @default no cap
   */
  maxWaitMs?: number;
}

/** What {@link TaskStore.createTask} inserts. */
export interface NewTask {
  id: string;
  name: string;
  input: string;
  owner: string;
  identity: string | null;
  parentId: string | null;
  runAt: number;
  now: number;
  /** Claim priority (higher first). @default 0 */
  priority?: number;
  idempotency?: IdempotencySpec;
  /** Claim the new task for this worker in the same atomic write (the starter runs it at once). Ignored with `debounce`. */
  claimFor?: { workerId: string; leaseMs: number };
  /**
   * Debounce this start (see {@link TaskStore.createTask}): `runAt` is the end of the quiet period
   * (`now + periodMs`). `idempotency` and `claimFor` are ignored with it (the engine never combines them).
   */
  debounce?: DebounceSpec;
  /**
   * Refuse the insert (result `limited`) when the owner already has this many active tasks
   * (`ACTIVE_STATUSES`: `queued`, `running`, `retrying`, `waiting`). Checked after the idempotency key (a live key attaches even at the limit) and
   * atomically with the insert, so concurrent creates that all pass it never exceed it.
   */
  maxActivePerOwner?: number;
  /**
   * Take one token from the owner's start-rate bucket (kept in the store, so it holds across nodes; one
   * bucket per owner, across task names). Taken after the idempotency key (a re-attach costs nothing) and
   * in the same atomic write as the insert; refill is computed from `now`. An empty bucket refuses the
   * insert (result `limited`, `limit: "startRate"`, `retryAfterMs` until one token) and writes nothing.
   */
  startRate?: StartRate;
  /**
   * Refuse the insert (result `limited`, `limit: "maxQueued"`) when this many tasks (all owners, all
   * names) are `queued`. Checked only for a task that would be inserted `queued` (not with `claimFor`),
   * after the idempotency key and atomically with the insert.
   */
  maxQueued?: number;
}

/** A `createTask` refused by one of its limits; nothing was written. */
export type LimitedResult = { created: false; limited: true } & (
  | { limit: "maxActivePerOwner"; active: number }
  | { limit: "startRate"; retryAfterMs: number }
  | { limit: "maxQueued"; queued: number }
);

/**
 * A debounced `createTask` that updated its window's existing task (input, identity, `runAt`) instead of
 * inserting. `conflict` is always false (so code that reads `conflict` on every attach keeps compiling).
 */
export type DebouncedResult = { created: false; task: TaskRecord; conflict: false; debounced: true };

/** Result of {@link TaskStore.createTask}. */
export type CreateTaskResult =
  | { created: true; task: TaskRecord; lease?: Lease }
  | { created: false; task: TaskRecord; conflict: boolean }
  | DebouncedResult
  | LimitedResult;

/** Statuses that count against `maxActivePerOwner`. */
export const ACTIVE_STATUSES: readonly TaskStatus[] = Object.freeze([
  "queued",
  "running",
  "retrying",
  "waiting",
]);

/** Name of the bridge event a parent's WAL gets when a child is created and when it settles. */
export const CHILD_EVENT = "child";

/**
 * Whether a WAL event named `name` was emitted by the task body (it has an emit position), as opposed to
 * a terminal event or a `child` bridge event. Task event names can never be one of those (reserved).
 */
export function isEmittedEventName(name: string): boolean {
  return name !== CHILD_EVENT && !isTerminalEventName(name);
}

/** `runAt` of a `waiting` task that only an event (a child, a signal) can wake. */
export const NEVER_DUE = Number.MAX_SAFE_INTEGER;

/** What {@link TaskStore.claimTasks} asks for. */
export interface ClaimRequest {
  workerId: string;
  /** Only tasks with these names (the ones this worker has registered). */
  names: readonly string[];
  limit: number;
  now: number;
  leaseMs: number;
  /**
   * Caps on running tasks (status `running`, lease not expired), counted by the store atomically with
   * the claim: a candidate over a cap is skipped (it stays claimable) and the claim goes on with the
   * candidates after it, so one owner at its cap never holds back the others. @default none
   */
  running?: RunningLimits;
}

/** Outcome of {@link TaskStore.renewLease}. */
export interface LeaseState {
  /** False once the lease was lost (expired and reclaimed, or the task settled). */
  held: boolean;
  /** Whether a cancel was requested (so cancels reach workers even without a doorbell). */
  cancelRequested: boolean;
}

/** A recorded step checkpoint. */
export interface StepRecord {
  position: number;
  key: string;
  /** Encoded step result. */
  output: string;
  /** Events the step body emitted; a replay that skips the body skips that many emit positions. */
  emits: number;
  /** When the step's first attempt began (for timelines: `at - startedAt` is its duration). */
  startedAt: number;
  /** When the checkpoint was recorded. */
  at: number;
  /** Attempts the step body took (1 + its in-step retries); 1 for flow checkpoints. */
  attempts: number;
}

/** A visible WAL event. */
export interface EventRecord {
  seq: number;
  name: string;
  /** Encoded payload. */
  data: string;
  at: number;
}

/** An event the running task emits; the store gives it the next seq. */
export interface NewEvent {
  /** Emit position: the task's 0-based count of emitted events (bridge and terminal events excluded). */
  position: number;
  name: string;
  /** Encoded payload. */
  data: string;
  at: number;
}

/** Everything a replay needs: checkpoints by position and the names of already-emitted events. */
export interface TaskHistory {
  steps: StepRecord[];
  /**
   * Names of the task's emitted events by emit position (index i is emit position i), in seq order:
   * terminal events (a retried task has some in its history) and `child` bridge events are left out.
   */
  eventNames: string[];
}

/** What may wake a `waiting` task before its `runAt`. */
export interface WakeOn {
  /** Child task ids: the task is woken when any of them is (or already was) terminal. */
  children?: readonly string[];
  /** Signals: woken once the task has more than `index` signals named `name`. */
  signals?: ReadonlyArray<{ name: string; index: number }>;
  /**
   * Woken when the task has a cancel request (a body's wait is; a cancelled task waiting for its children
   * to settle is not). Covers a cancel recorded on another node while the run was parking.
   */
  cancel?: boolean;
}

/** What {@link TaskStore.spawnChild} writes, atomically, under the parent's lease. */
export interface ChildSpawn {
  /** The parent's spawn checkpoint (its output is the encoded child id). */
  step: StepRecord;
  /** The child; its owner, identity and `parentId` come from the parent's record. */
  child: { id: string; name: string; input: string; runAt: number; priority?: number };
  /** Encoded payload of the parent's `child` event with `status: "queued"` (see `childEventData`). */
  event: string;
  now: number;
}

/** What {@link TaskStore.deliverSignal} records. */
export interface NewSignal {
  taskId: string;
  name: string;
  /** Encoded, already-validated payload. */
  payload: string;
  /** Deduplicates deliveries per task: a key already used returns the first delivery. */
  idempotencyKey?: string;
  now: number;
}

/** Outcome of {@link TaskStore.deliverSignal}. */
export interface SignalDelivery {
  /** The task after the delivery (woken to `queued` if it was `waiting`). */
  task: TaskRecord;
  /** 0-based position of this signal among the task's signals of the same name (arrival order). */
  index: number;
  /** True when the idempotency key matched an earlier delivery (nothing new was written). */
  duplicate: boolean;
}

/** How a worker ends (or pauses) its hold on a task. */
export type Settlement =
  | { status: "completed"; result: string; event: string }
  | { status: "failed"; error: SerializedError; event: string }
  | { status: "cancelled"; event: string }
  | { status: "retrying"; error: SerializedError; runAt: number }
  | { status: "queued"; runAt: number }
  | { status: "waiting"; runAt: number; wakeOn: WakeOn };

/** Outcome of {@link TaskStore.requestCancel}. */
export interface CancelOutcome {
  task: TaskRecord;
  /**
   * `cancelled`: it was queued, retrying or waiting without active children and is now cancelled
   * (terminal event appended); `requested`: the request was recorded and a worker will settle the task
   * (it is running, or it has active children to cancel first);
   * `already_requested`: a previous request is still pending; `already_finished`: it was terminal, unchanged.
   */
  outcome: "cancelled" | "requested" | "already_requested" | "already_finished";
}

/** Filter for {@link TaskStore.listTasks}; results are newest first. */
export interface TaskFilter {
  owner?: string;
  name?: string;
  status?: TaskStatus | readonly TaskStatus[];
  parentId?: string;
  limit?: number;
  /**
   * Only tasks strictly after this key in the listing order (`createdAt` desc, then `id` desc): a keyset
   * page cursor, exact when many tasks share a `createdAt` (pass the last listed task's key).
   */
  after?: { createdAt: number; id: string };
}

/** What {@link TaskStore.purgeTasks} deletes in one call. */
export interface PurgeRequest {
  /** Only trees whose root task is terminal with `updatedAt` before this time (epoch ms). */
  finishedBefore: number;
  /** At most this many root tasks, each with all its descendants. */
  limit: number;
}

/** Stops a watch; idempotent. */
export type Unwatch = () => void;

/**
 * Storage for tasks, step checkpoints and the visible event WAL. Every method is safe to call
 * concurrently from one process; stores meant for several processes (SQLite file, PostgreSQL) keep every
 * guarantee across processes too. The conformance suite in `@taskwire/testing` asserts each statement.
 */
export interface TaskStore {
  /** A short name for logs (`memory`, `sqlite`, `postgres`). */
  readonly kind: string;

  /** Opens the store and applies migrations. Idempotent; safe when several processes open at once. */
  open(): Promise<void>;

  /** Releases connections and stops watches. Idempotent. Reads and writes after close reject. */
  close(): Promise<void>;

  /**
   * Inserts a `queued` task (revision 1, attempt 1, claims 0, lastSeq 0). Task ids are unique (the engine
   * generates UUIDs); reusing one is a programming error with undefined behaviour. Atomic with its idempotency
   * check: when `idempotency` names a key that the same owner already used for the same task name and
   * that has not expired, nothing is inserted and the existing task is returned with `created: false`
   * and `conflict` true when the input hash differs. An expired key is taken over by the new task.
   * With `claimFor`, the new task is inserted already `running` under a lease for that worker
   * (claims 1, revision 2) and the lease is returned. With `maxActivePerOwner`, `startRate` or `maxQueued`
   * (checked in that order, after the idempotency key, atomically with the insert), a start over a limit
   * gets a {@link LimitedResult} naming it and nothing is written (not even a token is taken).
   *
   * With `debounce`, atomically: when the (owner, name, `debounce.key`) window's task is still `queued` and
   * never claimed (`claims` 0), nothing is inserted: that task gets this start's `input` and `identity`,
   * `runAt = min(spec.runAt, window start + maxWaitMs)`, `updatedAt = now` and a new revision, and is
   * returned as a {@link DebouncedResult} (the same id for every start of the window). Limits are not checked
   * then (nothing is created; no token is taken). Otherwise (no window, or its task was claimed, finished or
   * deleted) the start opens a new window: an ordinary insert, always `queued` at `spec.runAt` (`claimFor`
   * ignored), under the limits, which becomes the key's task. A claim racing the update either takes the task
   * before it (the start then opens a new window) or after it (the run sees the new input): a start's input
   * is never lost. Concurrent starts of one key, on any process, end with one task per window.
   */
  createTask(task: NewTask): Promise<CreateTaskResult>;

  /** Reads one task, or `undefined`. */
  getTask(taskId: string): Promise<TaskRecord | undefined>;

  /**
   * Lists tasks matching `filter`, newest first (`createdAt` desc, then id desc), at most `limit` (default 100).
   * With `after`, the listing resumes strictly after that key, so paging by the last row's key visits every
   * task exactly once even when many share a `createdAt`.
   */
  listTasks(filter?: TaskFilter): Promise<TaskRecord[]>;

  /**
   * Atomically claims up to `limit` tasks whose name is in `names` and that are either
   * `queued`/`retrying`/`waiting` with `runAt <= now`, or `running` with `leaseExpiresAt < now` (their worker died). Each claimed task
   * becomes `running`, gets `leaseOwner = workerId`, `leaseExpiresAt = now + leaseMs`, `claims + 1` and a
   * new revision. Order: `priority` desc, then fair turn (see the glossary: owners' backlogs interleave),
   * then oldest `runAt`, then creation order — exact among `queued` tasks; retrying, due waiting and expired
   * tasks (already started once) are each read oldest `runAt` first and merged in that order. Two
   * concurrent claimers never receive the same task.
   * Tasks with a pending cancel request are claimed too (the runner settles them `cancelled`).
   */
  claimTasks(request: ClaimRequest): Promise<ClaimedTask[]>;

  /**
   * Extends the lease to `now + leaseMs` if it is still held (fenced: revision, status and owner match;
   * expiry is not checked — an expired lease nobody reclaimed yet is still held). Does not change the revision.
   * Reports whether the lease is held and whether a cancel was requested.
   */
  renewLease(lease: Lease, now: number, leaseMs: number): Promise<LeaseState>;

  /** Step checkpoints (by position, ascending) and emitted event names of a task. */
  loadHistory(taskId: string): Promise<TaskHistory>;

  /**
   * Records a step checkpoint. Fenced; atomic. Rejects with `StoreConflictError` when the lease is lost or
   * a checkpoint already exists at that position. Once this resolves the checkpoint is durable.
   */
  appendStep(lease: Lease, step: StepRecord): Promise<void>;

  /**
   * Appends an emitted event at `seq = lastSeq + 1`, bumps `lastSeq` and `emits`, and resolves to the seq.
   * Fenced; atomic; rejects with `StoreConflictError` when the lease is lost or `event.position` is not
   * `emits` (never a gap or a duplicate emit). Once this resolves the event is durable, readable by
   * {@link readEvents}, and watchers of the task have been (or are being) rung.
   */
  appendEvent(lease: Lease, event: NewEvent): Promise<number>;

  /**
   * Ends the lease. Fenced compare-and-swap on `lease.revision`; bumps the revision, clears the lease.
   * Terminal settlements append their terminal event (`event` is its encoded payload) at `lastSeq + 1` in
   * the same atomic write and ring watchers. `retrying` stores the error, bumps `attempt` and sets `runAt`;
   * `queued` hands the task back at `runAt` (shutdown), attempt unchanged. `waiting` parks the task
   * without a lease until `runAt` — unless a `wakeOn` condition already holds when the write takes the
   * task (a child terminal, a signal there, a cancel request with `wakeOn.cancel`), in which case it becomes `queued` at `now`: a wake-up that
   * raced the settlement is never lost. A terminal settlement of a child task also, in the same atomic
   * write, appends a `child` event with the child's status to the parent's WAL and wakes the parent if
   * it is `waiting` (`queued` at `now`). Rejects with
   * `StoreConflictError` when the lease is no longer held. Resolves (with nothing: read the task with
   * `getTask` if needed) once the settlement is durable; the runner settles every task, so it is kept light.
   */
  settleTask(lease: Lease, settlement: Settlement, now: number): Promise<void>;

  /**
   * Records a cancel request. Sticky and idempotent: `cancelRequestedAt` is set once, by the first request.
   * A `queued`/`retrying`/`waiting` task without active children is settled `cancelled` at once (terminal
   * event appended atomically, CAS on revision, parent notified as for any terminal settlement); one with
   * active children becomes `queued` at `now`, so a worker cancels the children and settles it later; a
   * `running` task keeps running until its worker settles it; a terminal task is unchanged.
   * Rings cancel watchers (on every process for multi-process stores). Rejects with `TaskNotFoundError`
   * for an unknown id. `event` is the encoded payload of the terminal event if one is appended.
   */
  requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome>;

  /**
   * Creates a child task under the parent's lease, atomically with the parent's spawn checkpoint and its
   * `child` event (`queued`, at the parent's `lastSeq + 1`; `emits` unchanged). The child is `queued`,
   * with the parent's owner and identity and `parentId` = the parent. Fenced; rejects with
   * `StoreConflictError` when the lease is lost or the checkpoint position is taken, and with
   * `CancelledError` when the parent has a cancel request (nothing is written). Rings the parent's event
   * watchers and the work watchers.
   */
  spawnChild(lease: Lease, spawn: ChildSpawn): Promise<void>;

  /**
   * Records a signal for a task, after the signals already there (arrival order per name), and wakes the
   * task if it is `waiting` (`queued` at `now`; work watchers rung). With an idempotency key already used
   * for this task, nothing is written and the first delivery is returned with `duplicate: true`. Rejects
   * with `TaskNotFoundError` for an unknown task and `TaskFinishedError` for a terminal one (a duplicate
   * key is answered first). Atomic.
   */
  deliverSignal(signal: NewSignal): Promise<SignalDelivery>;

  /** The encoded payload of the task's `index`-th (0-based) signal named `name`, or `undefined`. */
  readSignal(taskId: string, name: string, index: number): Promise<string | undefined>;

  /**
   * Puts a `failed` task back to `queued` at `now`: compare-and-swap on its status and revision, `attempt`
   * bumped, the `failed` event kept in the WAL (the next events follow it). Rejects with
   * `NotResumableError` (the current status in `details`) for any other status — of two racing retries
   * exactly one succeeds — and `TaskNotFoundError` for an unknown id. Rings the work watchers.
   */
  retryTask(taskId: string, now: number): Promise<TaskRecord>;

  /** Events with `seq > afterSeq`, ascending, at most `limit`. */
  readEvents(taskId: string, afterSeq: number, limit: number): Promise<EventRecord[]>;

  /**
   * Rings `onChange` (no arguments; possibly spuriously or coalesced) after events of `taskId` become
   * readable, including from other processes (by notification or a bounded poll). The callback runs
   * asynchronously (never inside the writer's call) in the async context of the `watchEvents` caller,
   * never in the writer's (bind it with `AsyncLocalStorage.bind`).
   *
   * A throwing watcher is contained (the same rule holds for `watchCancels`): the writer's call is
   * unaffected, every other watcher is still rung, and the thrown watcher stays registered and is rung
   * again on the next change. The error is not swallowed: it is reported once, as a process warning
   * (`process.emitWarning`) named `TaskwireWatcherError` whose `cause` is the thrown value, so it shows in
   * the log without taking the process down. `LocalDoorbells` in `@taskwire/core/store` implements all
   * of this.
   */
  watchEvents(taskId: string, onChange: () => void): Unwatch;

  /**
   * Calls `onCancel(taskId)` when a cancel is requested for a running task, from any process. Like
   * `watchEvents`, asynchronously, in the watcher's async context, and a throwing watcher is contained
   * and reported the same way.
   */
  watchCancels(onCancel: (taskId: string) => void): Unwatch;

  /**
   * Rings `onWork` (no arguments; possibly spuriously or coalesced) after a task became claimable through
   * a wake-up rather than a timer — a child settled or was spawned, a signal arrived, a task was retried,
   * a waiting task got a cancel request — from any process. Delivered like `watchEvents`.
   */
  watchWork(onWork: () => void): Unwatch;

  /**
   * Retention: deletes up to `limit` root tasks (`parentId` null) that are terminal with
   * `updatedAt < finishedBefore`, oldest first, each together with all its descendants and everything that
   * belongs to them (checkpoints, WAL events, signals, idempotency keys, debounce windows), in one short atomic write. A tree
   * with any non-terminal descendant is left whole and does not count against `limit`. Resolves to the
   * number of task rows deleted (roots and descendants). Afterwards `getTask` answers `undefined`,
   * `readEvents` and `loadHistory` are empty, and the idempotency keys of the deleted tasks are free again.
   * Stores shared by several processes purge one at a time: a call made while another process purges
   * resolves to 0 at once, without waiting (so "fewer than the batch" ends a sweep on every node but one).
   */
  purgeTasks(request: PurgeRequest): Promise<number>;

  /**
   * Erasure: deletes up to `limit` tasks owned by `owner`, in any status, newest first, with everything that
   * belongs to them, in one atomic write; resolves to the number deleted (0 once none is left). Children
   * have their parent's owner, so calling until 0 erases whole trees. A worker still running a deleted task
   * has lost it: its next fenced write rejects with `StoreConflictError` (as for any fenced write to a task
   * that no longer exists) and writes nothing, so the task never comes back. Each call also deletes the
   * owner's start-rate bucket (`NewTask.startRate`): after erasure the owner starts with a full one. The
   * owner's debounce windows go with their tasks (a later debounced start opens a new window).
   */
  deleteTasksOfOwner(owner: string, limit: number): Promise<number>;
}
