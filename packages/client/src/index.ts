/** Creates the typed task client (start, get, subscribe with `Last-Event-ID` resume, cancel, signal, retry, run). */
export {
  createTaskClient,
  /** Options of `client.get`, `client.cancel` and `client.retry`. */
  type RequestOptions,
  /** Options of `client.run`. */
  type RunOptions,
  /** Options of `client.signal` (`idempotencyKey`, `signal`). */
  type SignalOptions,
  /** Options of `client.start` (`idempotencyKey`, `signal`). */
  type StartOptions,
  /** The client `createTaskClient` returns (typed by the app's tasks, or per call). */
  type TaskClient,
} from "./create-task-client";
export {
  /** Codes only the client produces (`NETWORK_ERROR`, `PROTOCOL_ERROR`, `HTTP_ERROR`, `SUBSCRIPTION_CLOSED`). */
  ClientErrorCode,
  /** Whether a value is a `TaskwireClientError`, optionally with a given code. */
  isTaskwireClientError,
  /** `result` of a task that ended `cancelled`. */
  TaskCancelledError,
  /** `result` of a task that ended `failed`, with the task's error code and message. */
  TaskFailedError,
  /** Every client error: server `{ error: { code, message, details } }`, network or protocol failure. */
  TaskwireClientError,
  /** Options of `TaskwireClientError`. */
  type TaskwireClientErrorOptions,
} from "./errors";
/** Options of `createTaskClient` (`baseUrl`, `fetch`, `headers`, `credentials`). */
export type { TaskClientOptions } from "./http";
export type {
  /** Backoff of automatic reconnects (`initialDelayMs`, `maxDelayMs`, `maxAttempts`). */
  ReconnectOptions,
  /** Options of `client.subscribe`. */
  SubscribeOptions,
  /** A live subscription: async-iterable events plus `result`. */
  TaskSubscription,
} from "./subscribe-options";
export type {
  /** The answer of `client.cancel`. */
  CancelResponse,
  /** A task id typed with its task. */
  ClientTaskId,
  /** A task status. */
  ClientTaskStatus,
  /** The `interrupted` frame as `onInterrupted` receives it. */
  InterruptedInfo,
  /** The JSON form of a type (bigint and Date become strings). */
  Jsonify,
  /** The `ready` frame as `onReady` receives it. */
  ReadyInfo,
  /** The signal names a task declares. */
  SignalNameOf,
  /** The payload type of one of a task's signals (JSON form). */
  SignalPayloadOf,
  /** The answer of `client.signal`. */
  SignalResponse,
  /** The answer of `client.start`. */
  StartResponse,
  /** The typed events of a task (JSON form), narrowed by `name`. */
  TaskEventOf,
  /** The input type of a task. */
  TaskInputOf,
  /** The app's tasks by name, for `createTaskClient<typeof tasks>()`. */
  TaskMap,
  /** The result of a task (JSON form). */
  TaskResultOf,
  /** The snapshot of `client.get` (JSON form). */
  TaskSnapshotJson,
  /** The terminal events of a task. */
  TerminalEventOf,
} from "./types";
