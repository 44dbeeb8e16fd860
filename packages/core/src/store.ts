/**
 * `@taskwire/core/store`: the kit for writing a `TaskStore` (what store authors need and task authors
 * don't): the interface and its record types, the status helpers, the one local watcher registry, the
 * record builder, the value codec and the errors a store throws. Task and app authors use the root.
 */

/** The value codec of the WAL: stores keep its strings as they are; tests build them with `encode`. */
export { decode, encode } from "./codec/codec";
export { NotResumableError, TaskFinishedError } from "./errors/flow-errors";
/** Errors a store throws, and the serialized form of errors kept on task records. */
/** Errors of the flow methods (`deliverSignal`, `retryTask`, `spawnChild`). */
export {
  CancelledError,
  deserializeError,
  type SerializedError,
  StoreConflictError,
  serializeError,
  TaskNotFoundError,
} from "./errors/taskwire-error";
/** The payload of a parent's `child` bridge event. */
export { childEventData } from "./store/child-event";
/** The one in-process watcher registry behind `watchEvents` / `watchCancels`. */
export { LocalDoorbells, type LocalDoorbellsOptions, reportWatcherError } from "./store/local-doorbells";
/** The record `createTask` inserts, and whether it is inserted claimed. */
export { claimsAtInsert, newTaskRecord } from "./store/new-task-record";
/** Running caps of `claimTasks` (every store plans a limited claim with these). */
export {
  type CandidateQuery,
  hasRunningLimits,
  isRunningLimited,
  PAIR_SEPARATOR,
  planLimitedClaim,
  type RunningKey,
  type RunningLimits,
  RunningSlots,
  type TaskConcurrency,
} from "./store/running-limits";
/** The start-rate token bucket (memory and SQLite compute it with this; PostgreSQL in SQL). */
export {
  retryAfterMsFor,
  type StartRate,
  type TokenBucket,
  type TokenTake,
  takeStartToken,
} from "./store/start-rate";
/** The `TaskStore` interface, its records and the status helpers. */
export {
  ACTIVE_STATUSES,
  type CancelOutcome,
  CHILD_EVENT,
  type ChildSpawn,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type DebouncedResult,
  type DebounceSpec,
  type EventRecord,
  type IdempotencySpec,
  isEmittedEventName,
  isTerminalEventName,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type LimitedResult,
  NEVER_DUE,
  type NewEvent,
  type NewSignal,
  type NewTask,
  type PurgeRequest,
  type Settlement,
  type SignalDelivery,
  type StepRecord,
  type TaskFilter,
  type TaskHistory,
  type TaskRecord,
  TaskStatus,
  type TaskStore,
  TERMINAL_STATUSES,
  type TerminalEventName,
  type Unwatch,
  type WakeOn,
} from "./store/task-store";
