import type { AnyTaskDefinition, DebounceOptions, DefinitionOf, TaskId, TaskLike } from "@taskwire/core";
import { HttpTransport, segment, type TaskClientOptions } from "./http";
import { createSubscription, type SubscribeOptions, type TaskSubscription } from "./subscribe";
import type {
  CancelResponse,
  SignalNameOf,
  SignalPayloadOf,
  SignalResponse,
  StartResponse,
  TaskInputOf,
  TaskMap,
  TaskResultOf,
  TaskSnapshotJson,
} from "./types";

/** Options of `client.start`. */
export interface StartOptions {
  /**
   * Sent as `Idempotency-Key`: a second start with the same key (same owner, same task) attaches to the
   * first run instead of starting another. `"input"` derives the key from the input on the server.
   */
  idempotencyKey?: string;
  /**
   * Sent as `Debounce-Key`, `Debounce-Period-Ms` (and `Debounce-Max-Wait-Ms`): starts with the same key
   * within the period fold into one run with the latest input, and all answer its task id. Not combined
   * with `idempotencyKey` (the server answers 400).
   */
  debounce?: DebounceOptions;
  signal?: AbortSignal;
}

/** Options of `client.get`, `client.cancel` and `client.retry`. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** Options of `client.signal`. */
export interface SignalOptions {
  /** Sent as `Idempotency-Key`: a repeated key delivers nothing new (the answer says `duplicate: true`). */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Options of `client.run`: those of `start` and `subscribe` (always from the first event). */
export interface RunOptions<T extends TaskLike = AnyTaskDefinition>
  extends StartOptions,
    Omit<SubscribeOptions<T>, "afterSeq"> {
  /** Called once the task is started (e.g. to keep `taskId` for a cancel button). */
  onStart?: (started: StartResponse<T>) => void;
}

/**
 * The arguments of `client.signal` after the task id: a signal name task `T` declares, its payload
 * (typed by that signal's schema) and options. A union of tuples, so name and payload always match.
 */
export type SignalArgs<T extends TaskLike = AnyTaskDefinition> = {
  [K in SignalNameOf<T>]: [name: K, payload: SignalPayloadOf<T, K>, options?: SignalOptions];
}[SignalNameOf<T>];

/** A task id of `T`; its type parameter lets `get`/`subscribe`/`signal` infer the task from `start`'s answer. */
type IdOf<T extends TaskLike> = TaskId<DefinitionOf<T>>;

/** The methods addressed by task id, typed from the id `start` returned (or an explicit type parameter). */
export interface TaskClientByIdMethods {
  /** `GET /tasks/:taskId`: the snapshot (JSON form). */
  get<T extends TaskLike = AnyTaskDefinition>(
    taskId: IdOf<T>,
    options?: RequestOptions,
  ): Promise<TaskSnapshotJson<T>>;
  /** `GET /tasks/:taskId/events` with automatic `Last-Event-ID` resume; starts reading at once. */
  subscribe<T extends TaskLike = AnyTaskDefinition>(
    taskId: IdOf<T>,
    options?: SubscribeOptions<T>,
  ): TaskSubscription<T>;
  /** `POST /tasks/:taskId/cancel`: requests cancellation of the task and its children (idempotent). */
  cancel(taskId: string, options?: RequestOptions): Promise<CancelResponse>;
  /**
   * `POST /tasks/:taskId/signals/:name`: delivers a signal the task declares; a wrong name or payload is
   * a compile error. Kept until the task's next `ctx.waitForSignal(name)` consumes it.
   */
  signal<T extends TaskLike = AnyTaskDefinition>(
    taskId: IdOf<T>,
    ...args: SignalArgs<T>
  ): Promise<SignalResponse>;
  /** `POST /tasks/:taskId/retry`: re-queues a `failed` task (its events continue after the `failed` one). */
  retry<T extends TaskLike = AnyTaskDefinition>(
    taskId: IdOf<T>,
    options?: RequestOptions,
  ): Promise<TaskSnapshotJson<T>>;
}

/** `start` and `run` of an untyped client: the task type is a per-call type parameter. */
export interface TaskClientStartByType {
  /** `POST /tasks/:name` with the input as JSON; resolves with the 202 answer. */
  start<T extends TaskLike = AnyTaskDefinition>(
    name: string,
    input: TaskInputOf<T>,
    options?: StartOptions,
  ): Promise<StartResponse<T>>;
  /** `start` + `subscribe` from the first event; resolves with the result (rejects like `result`). */
  run<T extends TaskLike = AnyTaskDefinition>(
    name: string,
    input: TaskInputOf<T>,
    options?: RunOptions<T>,
  ): Promise<TaskResultOf<T>>;
}

/** `start` and `run` of a client typed by the app's tasks: names autocomplete, inputs are checked. */
export interface TaskClientStartByName<TTasks extends TaskMap> {
  /** `POST /tasks/:name` with the input as JSON; resolves with the 202 answer. */
  start<N extends keyof TTasks & string>(
    name: N,
    input: TaskInputOf<TTasks[N]>,
    options?: StartOptions,
  ): Promise<StartResponse<TTasks[N]>>;
  /** `start` + `subscribe` from the first event; resolves with the result (rejects like `result`). */
  run<N extends keyof TTasks & string>(
    name: N,
    input: TaskInputOf<TTasks[N]>,
    options?: RunOptions<TTasks[N]>,
  ): Promise<TaskResultOf<TTasks[N]>>;
}

/**
 * The typed client. `TaskClient` (no argument) types each call by a type parameter
 * (`client.start<typeof generate>(…)`); `TaskClient<typeof tasks>` knows the app's task names.
 */
export type TaskClient<TTasks extends TaskMap = Record<string, AnyTaskDefinition>> = TaskClientByIdMethods &
  (string extends keyof TTasks ? TaskClientStartByType : TaskClientStartByName<TTasks>);

/**
 * Creates a typed client of a Taskwire task router. It streams with `fetch` (not `EventSource`), so
 * headers such as `Authorization` reach the server, and resumes every stream with `Last-Event-ID`.
 * Pass the app's tasks as a type (`createTaskClient<typeof tasks>`) to type every call by task name.
 * @example
 * import type { tasks } from "./tasks"; // type-only: { "reports.generate": generate, … }; no server code
 * const client = createTaskClient<typeof tasks>({ baseUrl: "/api", headers: { Authorization: `Bearer ${t}` } });
 * const { taskId } = await client.start("reports.generate", { chunks: 5 });
 * const sub = client.subscribe(taskId); // typed from start's answer
 * for await (const event of sub) if (event.name === "progress") render(event.data.done, event.data.total);
 * const { digest } = await sub.result; // or rejects with TaskFailedError / TaskCancelledError
 */
export function createTaskClient<TTasks extends TaskMap = Record<string, AnyTaskDefinition>>(
  options: TaskClientOptions,
): TaskClient<TTasks> {
  const http = new HttpTransport(options);

  const start = (name: string, input: unknown, startOptions: StartOptions = {}) => {
    const headers: Record<string, string> = {};
    if (startOptions.idempotencyKey !== undefined) headers["Idempotency-Key"] = startOptions.idempotencyKey;
    const { debounce } = startOptions;
    if (debounce !== undefined) {
      headers["Debounce-Key"] = debounce.key;
      headers["Debounce-Period-Ms"] = String(debounce.periodMs);
      if (debounce.maxWaitMs !== undefined) headers["Debounce-Max-Wait-Ms"] = String(debounce.maxWaitMs);
    }
    return http.json<StartResponse>("POST", `/tasks/${segment(name)}`, {
      // `undefined` is not JSON: an omitted input is an empty object (every default applies).
      body: input === undefined ? {} : input,
      headers,
      signal: startOptions.signal,
    });
  };

  const client = {
    start,
    get(taskId: string, requestOptions: RequestOptions = {}) {
      return http.json("GET", `/tasks/${segment(taskId)}`, { signal: requestOptions.signal });
    },
    subscribe(taskId: string, subscribeOptions?: SubscribeOptions) {
      segment(taskId);
      return createSubscription(http, taskId, subscribeOptions);
    },
    cancel(taskId: string, requestOptions: RequestOptions = {}) {
      return http.json("POST", `/tasks/${segment(taskId)}/cancel`, { signal: requestOptions.signal });
    },
    signal(taskId: string, name: string, payload: unknown, signalOptions: SignalOptions = {}) {
      const headers: Record<string, string> = {};
      if (signalOptions.idempotencyKey !== undefined)
        headers["Idempotency-Key"] = signalOptions.idempotencyKey;
      // An `undefined` payload sends no body: the signal's schema decides whether that is valid.
      return http.json("POST", `/tasks/${segment(taskId)}/signals/${segment(name)}`, {
        body: payload,
        headers,
        signal: signalOptions.signal,
      });
    },
    retry(taskId: string, requestOptions: RequestOptions = {}) {
      return http.json("POST", `/tasks/${segment(taskId)}/retry`, { signal: requestOptions.signal });
    },
    async run(name: string, input: unknown, runOptions: RunOptions = {}) {
      const { idempotencyKey, debounce, signal, onStart, ...subscribeOptions } = runOptions;
      const started = await start(name, input, { idempotencyKey, debounce, signal });
      onStart?.(started);
      // Not iterable: nobody can read its queue, so events are not held.
      return createSubscription(http, started.taskId, { ...subscribeOptions, signal, afterSeq: 0 }, false)
        .result;
    },
  };
  // One implementation behind both typings: the types differ only in how `start`/`run` name a task.
  return client as unknown as TaskClient<TTasks>;
}
