export { canonicalEncode, decode, encode } from "./codec/codec";
export type { TaskRegistration } from "./engine/registry";
export type { SubscribeOptions } from "./engine/subscribe";
export type {
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
  type StartOptions,
  type StartResult,
  type Taskflow,
  type TaskflowOptions,
} from "./engine/taskflow";
export { ErrorCode } from "./errors/error-codes";
export {
  BackpressureError,
  CancelledError,
  DuplicateTaskError,
  deserializeError,
  type ErrorDetails,
  IdempotencyConflictError,
  InvalidDefinitionError,
  isTaskwireError,
  NonDeterminismError,
  NonRetriableError,
  type SerializedError,
  ShuttingDownError,
  StoreConflictError,
  serializeError,
  TaskNotFoundError,
  TaskTimeoutError,
  TaskwireError,
  type TaskwireErrorOptions,
  UnknownTaskError,
  ValidationError,
  type ValidationIssue,
} from "./errors/taskwire-error";
export type { IdentitySidecar, TaskUser } from "./identity/task-user";
export {
  getCurrentUserContext,
  isInUserContext,
  runAsService,
  runInUserContext,
  SERVICE_PRINCIPAL,
  type UserContext,
} from "./identity/user-context";
export { type StepFunction, step } from "./step/step";
export type { StepOptions } from "./step/step-options";
export { memoryStore } from "./store/memory-store";
export {
  ACTIVE_STATUSES,
  type CancelOutcome,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  type IdempotencySpec,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type NewTask,
  type Settlement,
  type StepRecord,
  type TaskFilter,
  type TaskHistory,
  type TaskRecord,
  TaskStatus,
  type TaskStore,
  TERMINAL_STATUSES,
  type TerminalEventName,
  type Unwatch,
} from "./store/task-store";
export {
  type AnyTaskDefinition,
  assertEventName,
  defineTask,
  EVENT_NAME_PATTERN,
  type EventSchemas,
  type InferTaskEvents,
  type InferTaskInput,
  type InferTaskResult,
  isTaskDefinition,
  RESERVED_EVENT_NAMES,
  TASK_NAME_PATTERN,
  type TaskDefinition,
  type TaskOptions,
  type TypedTaskContext,
} from "./task/define-task";
export type { ResolvedRetryPolicy } from "./task/retry-policy";
export { DEFAULT_STEP_RETRY, DEFAULT_TASK_RETRY, type RetryPolicy } from "./task/retry-policy";
export { parseWith } from "./task/validate";
