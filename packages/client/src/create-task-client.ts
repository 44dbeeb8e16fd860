import type { AnyTaskDefinition, DefinitionOf, TaskId, TaskLike } from "@taskwire/core";
import { HttpTransport, segment, type TaskClientOptions } from "./http";
import { createSubscription, type SubscribeOptions, type TaskSubscription } from "./subscribe";
import type { CancelResponse, StartResponse, TaskInputOf, TaskResultOf, TaskSnapshotJson } from "./types";

/** Options of `client.start`. */
export interface StartOptions {
  /**
   * Sent as `Idempotency-Key`: a second start with the same key (same owner, same task) attaches to the
   * first run instead of starting another. `"input"` derives the key from the input on the server.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Options of `client.get` and `client.cancel`. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** Options of `client.run`: those of `start` and `subscribe` (always from the first event). */
export interface RunOptions<T extends TaskLike = AnyTaskDefinition>
  extends StartOptions,
    Omit<SubscribeOptions<T>, "afterSeq"> {
  /** Called once the task is started (e.g. to keep `taskId` for a cancel button). */
  onStart?: (started: StartResponse<T>) => void;
}

/** A task id of `T`; its type parameter lets `get`/`subscribe` infer the task from `start`'s answer. */
type IdOf<T extends TaskLike> = TaskId<DefinitionOf<T>>;

/** The typed client; every task type comes from a type-only import of its definition. */
export interface TaskClient {
  /** `POST /tasks/:name` with the input as JSON; resolves with the 202 answer. */
  start<T extends TaskLike = AnyTaskDefinition>(
    name: string,
    input: TaskInputOf<T>,
    options?: StartOptions,
  ): Promise<StartResponse<T>>;
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
  /** `POST /tasks/:taskId/cancel`: requests cancellation (idempotent). */
  cancel(taskId: string, options?: RequestOptions): Promise<CancelResponse>;
  /** `start` + `subscribe` from the first event; resolves with the result (rejects like `result`). */
  run<T extends TaskLike = AnyTaskDefinition>(
    name: string,
    input: TaskInputOf<T>,
    options?: RunOptions<T>,
  ): Promise<TaskResultOf<T>>;
}

/**
 * Creates a typed client of a Taskwire task router. It streams with `fetch` (not `EventSource`), so
 * headers such as `Authorization` reach the server, and resumes every stream with `Last-Event-ID`.
 * @example
 * import type { generateReport } from "./report-task"; // type-only: no server code in the bundle
 * const client = createTaskClient({ baseUrl: "/api", headers: { Authorization: `Bearer ${token}` } });
 * const { taskId } = await client.start<typeof generateReport>("reports.generate", { chunks: 5 });
 * const sub = client.subscribe(taskId); // typed from start's answer
 * for await (const event of sub) if (event.name === "progress") render(event.data.done, event.data.total);
 * const { digest } = await sub.result; // or rejects with TaskFailedError / TaskCancelledError
 */
export function createTaskClient(options: TaskClientOptions): TaskClient {
  const http = new HttpTransport(options);

  const client: TaskClient = {
    start(name, input, startOptions = {}) {
      const headers: Record<string, string> = {};
      if (startOptions.idempotencyKey !== undefined) headers["Idempotency-Key"] = startOptions.idempotencyKey;
      return http.json("POST", `/tasks/${segment(name)}`, {
        // `undefined` is not JSON: an omitted input is an empty object (every default applies).
        body: input === undefined ? {} : input,
        headers,
        signal: startOptions.signal,
      });
    },
    get(taskId, requestOptions = {}) {
      return http.json("GET", `/tasks/${segment(taskId)}`, { signal: requestOptions.signal });
    },
    subscribe(taskId, subscribeOptions) {
      return createSubscription(http, segmentCheck(taskId), subscribeOptions);
    },
    cancel(taskId, requestOptions = {}) {
      return http.json("POST", `/tasks/${segment(taskId)}/cancel`, { signal: requestOptions.signal });
    },
    async run<T extends TaskLike = AnyTaskDefinition>(
      name: string,
      input: TaskInputOf<T>,
      runOptions: RunOptions<T> = {},
    ): Promise<TaskResultOf<T>> {
      const { idempotencyKey, signal, onStart, ...subscribeOptions } = runOptions;
      const started = await client.start<T>(name, input, { idempotencyKey, signal });
      onStart?.(started);
      // Not iterable: nobody can read its queue, so events are not held.
      return createSubscription<T>(http, started.taskId, { ...subscribeOptions, signal, afterSeq: 0 }, false)
        .result;
    },
  };
  return client;
}

function segmentCheck(taskId: string): string {
  segment(taskId);
  return taskId;
}
