/**
 * `@taskwire/core`: what task and app authors use — `defineTask`, `step`, `createTaskflow`, the memory
 * store, errors and user context. Store authors import the store kit from `@taskwire/core/store`.
 */

/** The engine's clock (a fake one drives time in tests). */
export { type Clock, systemClock } from "./clock/clock";
/** `StartOptions.debounce` and its bounds. */
export { DEBOUNCE_LIMITS, type DebounceOptions } from "./engine/debounce-options";
export type { ChildHandle, SpawnOptions } from "./engine/flows";
export type { TaskRegistration } from "./engine/registry";
export type { TaskflowLimits } from "./engine/start-limits";
export { type SubscribeOptions, subscribeEventPages } from "./engine/subscribe";
export type {
  ChildEvent,
  ChildEventData,
  DefinitionOf,
  EmittedEvent,
  FailedEventData,
  TaskEvent,
  TaskId,
  TaskLike,
  TaskRef,
  TaskSnapshot,
  TerminalEvent,
} from "./engine/task-ref";
export {
  type CancelResult,
  createTaskflow,
  type ListFilter,
  type SignalOptions,
  type SignalResult,
  type StartOptions,
  type StartResult,
  type Taskflow,
  type TaskflowOptions,
} from "./engine/taskflow";
export { ErrorCode } from "./errors/error-codes";
export {
  ChildTaskError,
  NotResumableError,
  SignalTimeoutError,
  TaskFinishedError,
} from "./errors/flow-errors";
export {
  BackpressureError,
  CancelledError,
  DuplicateTaskError,
  type ErrorDetails,
  IdempotencyConflictError,
  InvalidDefinitionError,
  isTaskwireError,
  NonDeterminismError,
  NonRetriableError,
  type SerializedError,
  ShuttingDownError,
  StoreConflictError,
  TaskNotFoundError,
  TaskTimeoutError,
  TaskwireError,
  type TaskwireErrorOptions,
  UnknownTaskError,
  ValidationError,
  type ValidationIssue,
} from "./errors/taskwire-error";
export type { TaskUser } from "./identity/task-user";
export {
  getCurrentUserContext,
  isInUserContext,
  runAsService,
  runInUserContext,
  SERVICE_PRINCIPAL,
  type UserContext,
} from "./identity/user-context";
/** Metrics and tracing hooks (`createTaskflow({ metrics, tracing })`). */
export type { FinishedStatus, TaskwireMetrics } from "./observe/metrics";
export type { TraceCarrier, TracerProviderLike, TracingOptions } from "./observe/tracing";
export { type StepFunction, step } from "./step/step";
export type { StepOptions } from "./step/step-options";
export { memoryStore } from "./store/memory-store";
export type { RunningLimits, TaskConcurrency } from "./store/running-limits";
export type { StartRate } from "./store/start-rate";
export {
  isTerminalEventName,
  isTerminalStatus,
  TaskStatus,
  type TaskStore,
  type TerminalEventName,
} from "./store/task-store";
export {
  type AnyTaskDefinition,
  defineTask,
  EVENT_NAME_PATTERN,
  type EventSchemas,
  type InferTaskEvents,
  type InferTaskInput,
  type InferTaskResult,
  type InferTaskSignals,
  RESERVED_EVENT_NAMES,
  type SignalSchemas,
  type TaskDefinition,
  type TaskOptions,
  type TypedTaskContext,
} from "./task/define-task";
export type { ResolvedRetryPolicy, RetryPolicy } from "./task/retry-policy";
