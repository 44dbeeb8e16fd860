import type {
  AnyTaskDefinition,
  DefinitionOf,
  InferTaskInput,
  InferTaskResult,
  InferTaskSignals,
  TaskDefinition,
  TaskEvent,
  TaskId,
  TaskLike,
  TaskStatus,
} from "@taskwire/core";

// Every import above is type-only: the client never loads @taskwire/core (or zod) at run time.

type IsAny<T> = 0 extends 1 & T ? true : false;
type NotJson = undefined | symbol | ((...args: never[]) => unknown);

/**
 * The JSON form of `T`: what actually arrives over HTTP and SSE. `bigint` and `Date` become strings
 * (the server writes a BigInt as a decimal string and a Date as ISO-8601), `undefined`, functions and
 * symbols are dropped from objects, and anything with `toJSON()` takes that method's return type.
 * @example type Wire = Jsonify<{ n: bigint; at: Date; note?: string }>; // { n: string; at: string; note?: string }
 */
export type Jsonify<T> =
  IsAny<T> extends true
    ? // biome-ignore lint/suspicious/noExplicitAny: an untyped definition stays untyped
      any
    : unknown extends T
      ? T // `unknown` (e.g. the input of `z.coerce.date()`) accepts any JSON
      : T extends bigint | Date
        ? string
        : T extends string | number | boolean | null
          ? T
          : T extends NotJson
            ? never
            : T extends { toJSON(): infer J }
              ? Jsonify<J>
              : T extends readonly unknown[]
                ? { -readonly [K in keyof T]: T[K] extends NotJson ? null : Jsonify<T[K]> }
                : T extends object
                  ? { -readonly [K in keyof T as T[K] extends NotJson ? never : K]: Jsonify<T[K]> }
                  : never;

/** The definition type behind `T` (a `defineTask` result or a registered `TaskRef`). */
type Def<T> = DefinitionOf<T>;

/** What `start`/`run` send: the task's input schema's input type (defaults may be omitted). */
export type TaskInputOf<T extends TaskLike> = Jsonify<InferTaskInput<Def<T>>>;

/** The task's result as it arrives (JSON form). */
export type TaskResultOf<T extends TaskLike> = Jsonify<InferTaskResult<Def<T>>>;

/**
 * One frame as the client yields it: the task's `seq`, the event name and the JSON form of its data. A
 * `failed` frame's error is `{ code, message }` on the wire (the server keeps its `internal` mark).
 */
type WireEvent<E> = E extends { seq: number; name: "failed" }
  ? { seq: number; name: "failed"; data: { error: { code: string; message: string } } }
  : E extends { seq: number; name: infer N; data: infer D }
    ? { seq: number; name: N; data: Jsonify<D> }
    : never;

/**
 * Every event a subscription yields for task `T`, narrowed by `name`: the task's own events
 * (`progress`, …), `child` bridge events `{ taskId, task, status }` (a child was created: `queued`, or
 * settled: `completed` / `failed` / `cancelled`), and terminal events (`completed` `{ result }`,
 * `failed` `{ error: { code, message } }`, `cancelled` `{ reason }`). The last event is the task's
 * terminal one; a retried task also has an earlier `failed` in its history, followed by the new run's
 * events. `data` is the JSON form ({@link Jsonify}); the wire has no `at`.
 */
export type TaskEventOf<T extends TaskLike = AnyTaskDefinition> = WireEvent<TaskEvent<Def<T>>>;

/** The terminal events (`completed`, `failed`, `cancelled`) of task `T`. */
export type TerminalEventOf<T extends TaskLike = AnyTaskDefinition> = Extract<
  TaskEventOf<T>,
  { name: "completed" | "failed" | "cancelled" }
>;

/** A task id that remembers its task type (a plain string at run time), so `get`/`subscribe` infer it. */
export type ClientTaskId<T extends TaskLike = AnyTaskDefinition> = TaskId<Def<T>>;

/**
 * The task lifecycle status: `queued`, `running`, `retrying`, `waiting` (for a child, a timer or a
 * signal), and the terminal `completed`, `failed`, `cancelled`.
 */
export type ClientTaskStatus = TaskStatus;

/** `POST /tasks/:name` → 202. */
export interface StartResponse<T extends TaskLike = AnyTaskDefinition> {
  taskId: ClientTaskId<T>;
  /** `false` when an idempotency key attached this call to an existing run. */
  created: boolean;
  /** Path of the task's SSE stream, as the server computed it. */
  eventsUrl: string;
}

/** `GET /tasks/:taskId`: a snapshot in its JSON form (dates as ISO strings). */
export interface TaskSnapshotJson<T extends TaskLike = AnyTaskDefinition> {
  taskId: ClientTaskId<T>;
  task: string;
  status: ClientTaskStatus;
  createdAt: string;
  updatedAt: string;
  /** The highest visible seq (the terminal event's once finished). */
  lastSeq: number;
  /** The parent task's id, for a task started by `ctx.spawn`. */
  parentId?: string;
  result?: TaskResultOf<T>;
  error?: { code: string; message: string };
}

/** `POST /tasks/:taskId/cancel` → 202. */
export interface CancelResponse {
  taskId: string;
  status: ClientTaskStatus;
  /** `cancelled` (was waiting), `requested` (running; it will stop), `already_requested`, `already_finished`. */
  outcome: "cancelled" | "requested" | "already_requested" | "already_finished";
}

/** The `ready` frame: the stream is open and resumes after `seq`. */
export interface ReadyInfo {
  taskId: string;
  task: string;
  status: ClientTaskStatus;
  /** The cursor the server resumes after (the frame's `id`). */
  seq: number;
}

/** The `interrupted` frame: the server ended the stream early; the client resumes after `seq`. */
export interface InterruptedInfo {
  code: "server_shutting_down" | "slow_consumer" | "internal" | (string & {});
  message: string;
  /** The last seq the server delivered (the frame's `id`). */
  seq: number;
}

/** The names of the signals task `T` declares (`defineTask({ signals })`); `string` for an untyped task. */
export type SignalNameOf<T extends TaskLike = AnyTaskDefinition> = keyof InferTaskSignals<Def<T>> & string;

/**
 * The payload `client.signal` sends for signal `K` of task `T`: the input type of its schema, in JSON
 * form. (Read through core's `InferTaskInput`, so the client names no zod type itself.)
 */
export type SignalPayloadOf<T extends TaskLike, K extends SignalNameOf<T>> = InferTaskSignals<
  Def<T>
>[K] extends infer S extends TaskDefinition["input"]
  ? Jsonify<InferTaskInput<TaskDefinition<S>>>
  : never;

/** `POST /tasks/:taskId/signals/:name` → 202. */
export interface SignalResponse {
  taskId: string;
  name: string;
  /** 0-based position of this signal among the task's signals of that name (arrival order). */
  index: number;
  /** `true` when the idempotency key matched an earlier delivery (nothing new was delivered). */
  duplicate: boolean;
}

/**
 * The app's tasks by name, for `createTaskClient<typeof tasks>()`: a record such as
 * `{ "reports.generate": generate }` of `defineTask` results (or `TaskRef`s), imported with `import type`.
 */
export type TaskMap = Record<string, TaskLike>;
