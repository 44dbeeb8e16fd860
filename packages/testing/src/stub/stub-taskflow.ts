import {
  type AnyTaskDefinition,
  createTaskflow,
  type DefinitionOf,
  getCurrentUserContext,
  memoryStore,
  type StartOptions,
  type Taskflow,
  type TaskflowOptions,
  type TaskLike,
  type TypedTaskContext,
  type UserContext,
} from "@taskwire/core";
import { decode } from "@taskwire/core/store";

/** A scripted task body: the task's own `run` signature (typed input, typed `ctx.emit`). */
export type StubHandler<TDef extends AnyTaskDefinition> = TDef["run"];

/** One event of a {@link StubResponse}: `[name, data]`, typed by the task's event schemas. */
export type StubEvent<TDef extends AnyTaskDefinition> = {
  [K in keyof TDef["events"] & string]: [
    name: K,
    data: Parameters<TypedTaskContext<Pick<TDef["events"], K>>["emit"]>[1],
  ];
}[keyof TDef["events"] & string];

/** A canned run: emit `events` in order, then return `result` (or throw `error`). */
export interface StubResponse<TDef extends AnyTaskDefinition> {
  events?: ReadonlyArray<StubEvent<TDef>>;
  /** The run's result (validated by the task's result schema, as a real one is). */
  result?: Awaited<ReturnType<TDef["run"]>>;
  /** Thrown after the events: the run fails, or retries under the task's retry policy. */
  error?: unknown;
}

/** One accepted `start` as the stub saw it. */
export interface StubStart {
  taskId: string;
  /** The task name. */
  task: string;
  /** The input the task runs with: parsed by its schema, defaults filled in. */
  input: unknown;
  /** Who started it: the caller's user id (`"service"` outside any user context). */
  owner: string;
  /** The caller's whole user context at the time of the call. */
  user: UserContext;
  options: StartOptions;
  /** False when an idempotency key attached the call to an existing run. */
  created: boolean;
}

/** Options of {@link createStubTaskflow}: any `TaskflowOptions` (the store defaults to `memoryStore()`). */
export type StubTaskflowOptions = Partial<TaskflowOptions>;

/**
 * A real `Taskflow` (pass it wherever one goes: `createTaskwireApp({ taskflow })`) that records every
 * start and runs scripted bodies in place of the registered tasks' own.
 */
export interface StubTaskflow extends Taskflow {
  /** Every accepted start, in call order. */
  readonly starts: readonly StubStart[];
  /**
   * Runs `handler` instead of the task's body from now on (registering the definition if nobody has).
   * The input is still validated by the task's schema, events and result by theirs.
   */
  on<T extends TaskLike>(task: T | string, handler: StubHandler<DefinitionOf<T>>): this;
  /** Shorthand for `on`: every run emits `response.events`, then returns `result` or throws `error`. */
  respond<T extends TaskLike>(task: T | string, response: StubResponse<DefinitionOf<T>>): this;
}

/**
 * An in-memory taskflow for unit-testing a `Plugin`'s routes in milliseconds: the engine is the real one
 * (so `executeTask`, the SSE bridge, owner checks and cancellation behave exactly as in production) over
 * `memoryStore()`, with task bodies scripted by the test and every start recorded with its caller.
 * Tasks with no script run their own body. Shut it down after the test (`tw.close()` does).
 * @example
 * const taskflow = await createStubTaskflow();
 * taskflow.respond(generateReport, { events: [["progress", { done: 1, total: 1 }]], result: { url: "/r/1" } });
 * const tw = await createTaskwireApp({ taskflow, plugins: [new ReportsPlugin()] });
 * await request(tw.app).post("/api/reports/generate").set("x-forwarded-user", "alice").send({ rows: 1 });
 * expect(taskflow.starts).toMatchObject([{ task: "reports.generate", owner: "alice" }]);
 */
export async function createStubTaskflow(options: StubTaskflowOptions = {}): Promise<StubTaskflow> {
  const taskflow = await createTaskflow({ store: memoryStore(), ...options });
  // biome-ignore lint/suspicious/noExplicitAny: handlers of different tasks share one table
  const handlers = new Map<string, (input: any, ctx: any) => unknown>();
  const wrappers = new WeakMap<AnyTaskDefinition, AnyTaskDefinition>();
  const starts: StubStart[] = [];

  /** The definition with a body that asks the handler table first (so `on` works before or after setup). */
  const wrap = (definition: AnyTaskDefinition): AnyTaskDefinition => {
    let wrapper = wrappers.get(definition);
    if (!wrapper) {
      const name = definition.name;
      wrapper = Object.freeze({
        ...definition,
        run: (input: unknown, ctx: TypedTaskContext) => (handlers.get(name) ?? definition.run)(input, ctx),
      });
      wrappers.set(definition, wrapper);
    }
    return wrapper;
  };

  const task: Taskflow["task"] = (definition) => taskflow.task(wrap(definition) as typeof definition);

  const start: Taskflow["start"] = async (target, input, startOptions = {}) => {
    const user = getCurrentUserContext(); // now: the caller's context, before any await
    const result = await taskflow.start(target, input, startOptions);
    const record = await taskflow.store.getTask(result.taskId);
    starts.push({
      taskId: result.taskId,
      task: typeof target === "string" ? target : target.name,
      input: record ? decode(record.input) : input,
      owner: user.userId,
      user,
      options: startOptions,
      created: result.created,
    });
    return result;
  };

  const stub = new Proxy(taskflow, {
    get(target, prop, receiver) {
      switch (prop) {
        case "task":
          return task;
        case "start":
          return start;
        case "starts":
          return starts;
        case "on":
          return (taskLike: TaskLike | string, handler: (input: unknown, ctx: unknown) => unknown) => {
            const name = typeof taskLike === "string" ? taskLike : taskLike.name;
            handlers.set(name, handler);
            if (typeof taskLike !== "string" && !taskflow.hasTask(name)) {
              task("definition" in taskLike ? taskLike.definition : taskLike);
            }
            return receiver;
          };
        case "respond":
          return (taskLike: TaskLike | string, response: StubResponse<AnyTaskDefinition>) =>
            (receiver as StubTaskflow).on(taskLike, async (_input: unknown, ctx: TypedTaskContext) => {
              for (const [name, data] of response.events ?? []) ctx.emit(name, data);
              if (response.error !== undefined) throw response.error;
              return response.result;
            });
        default:
          return Reflect.get(target, prop, target);
      }
    },
  });
  return stub as StubTaskflow;
}
