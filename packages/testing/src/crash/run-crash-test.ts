import {
  createTaskflow,
  type DefinitionOf,
  type InferTaskInput,
  memoryStore,
  runInUserContext,
  type TaskEvent,
  type Taskflow,
  type TaskflowOptions,
  type TaskLike,
  type TaskSnapshot,
  type TaskStatus,
  type TaskStore,
  type UserContext,
} from "@taskwire/core";
import { createFakeClock, type FakeClock } from "../clock/fake-clock";
import { type CrashPoint, dyingStore } from "./dying-store";

/** Options of {@link runCrashTest}. */
export interface CrashTestOptions<T extends TaskLike> {
  /** The task to run (a definition or a ref). */
  task: T;
  input: InferTaskInput<DefinitionOf<T>>;
  /** Where the first process dies. */
  at: CrashPoint;
  /**
   * The storage both lives share (for SQLite, one `sqliteStore()` object). Opened here if it is not yet;
   * never closed here, so you can inspect it afterwards. @default memoryStore()
   */
  store?: TaskStore;
  /** The engine clock of both lives; moved past the dead lease before the resume. @default createFakeClock() */
  clock?: FakeClock;
  /** Start the task as this user (`ctx.user` in the body). @default the service principal */
  user?: UserContext;
  /** @default 30000 */
  leaseMs?: number;
  /** Real-time limit of each life (reaching the point; finishing the resumed run). @default 5000 */
  timeoutMs?: number;
  /** @default silent under vitest (NODE_ENV=test) */
  logger?: TaskflowOptions["logger"];
}

/** What {@link runCrashTest} saw. */
export interface CrashTestResult<T extends TaskLike> {
  taskId: string;
  /** The durable state the dead process left behind. */
  atCrash: {
    status: TaskStatus;
    /** The last visible event that landed. */
    lastSeq: number;
    /** Keys of the checkpoints that landed, in order. */
    steps: string[];
  };
  /** The task after the resumed run settled. */
  snapshot: TaskSnapshot<DefinitionOf<T>>;
  /** Every visible event from seq 1 to the terminal one, as a subscriber sees them. */
  events: TaskEvent<DefinitionOf<T>>[];
  /** Keys of every checkpoint in the WAL, in order. */
  steps: string[];
}

/**
 * Kills a task at a named point and resumes it, in-process: the task starts on a taskflow whose store
 * dies at `at` (from then on none of its calls resolve, like a SIGKILLed process whose writes never
 * land), then the clock moves past the dead worker's lease and a fresh taskflow over the same store
 * reclaims and finishes it. Count your step bodies' executions to assert exactly-once: a step completed
 * before the crash never runs again; only one in flight at the crash may run twice.
 * @example
 * const result = await runCrashTest({ task: pipeline, input: { n: 3 }, at: "after-step:chunk#1" });
 * expect(result.snapshot.status).toBe("completed");
 * expect(runs).toEqual({ "chunk#0": 1, "chunk#1": 1, "chunk#2": 1 });
 */
export async function runCrashTest<T extends TaskLike>(
  options: CrashTestOptions<T>,
): Promise<CrashTestResult<T>> {
  const store = options.store ?? memoryStore();
  const clock = options.clock ?? createFakeClock();
  const leaseMs = options.leaseMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const task: TaskLike = options.task;
  const definition = "kind" in task ? task : task.definition;
  const dying = dyingStore(store, options.at);
  await store.open(); // the lives' own open/close are no-ops: the caller owns the store
  const life = (lifeStore: TaskStore, name: string) =>
    createTaskflow({
      store: lifeStore,
      clock,
      leaseMs,
      logger: options.logger,
      workerId: `crash-test:${name}`,
    });

  const doomed = await life(dying.store, "doomed");
  doomed.task(definition);
  const start = () => doomed.start(definition, options.input);
  const { taskId } = await (options.user ? runInUserContext(options.user, start) : start());
  const first = await within(
    timeoutMs,
    Promise.race([
      dying.dead.then(() => "dead" as const),
      settled(doomed, taskId).then(() => "settled" as const),
    ]),
    `crash point "${options.at}" to be reached`,
  );
  if (first === "settled") {
    const { status } = await doomed.get(taskId);
    await doomed.shutdown();
    throw new Error(`Crash point "${options.at}" was never reached: the task settled ${status} without it.`);
  }
  const record = await store.getTask(taskId);
  const history = await store.loadHistory(taskId);
  const atCrash = {
    status: record?.status ?? "queued",
    lastSeq: record?.lastSeq ?? 0,
    steps: history.steps.map((s) => s.key),
  };

  // The dead worker's lease must expire before anyone may reclaim the task. Its heartbeats fire on the
  // way and hang, as they would in a dead process.
  await clock.advance(leaseMs + 1);
  const resumed = await life(ownedElsewhere(store), "resumed");
  try {
    resumed.task(definition);
    const events = await within(timeoutMs, collect(resumed, taskId), "the resumed run to settle");
    const snapshot = await resumed.get<DefinitionOf<T>>(taskId);
    const steps = (await store.loadHistory(taskId)).steps.map((s) => s.key);
    return { taskId, atCrash, snapshot, events: events as TaskEvent<DefinitionOf<T>>[], steps };
  } finally {
    await resumed.shutdown();
  }
}

/** `store` with `open`/`close` turned into no-ops: shutting a life down must not close the caller's store. */
function ownedElsewhere(store: TaskStore): TaskStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "open" || prop === "close") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function collect(taskflow: Taskflow, taskId: string): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const event of taskflow.subscribe(taskId)) events.push(event);
  return events;
}

async function settled(taskflow: Taskflow, taskId: string): Promise<void> {
  for await (const _ of taskflow.subscribe(taskId)) {
    // drained until the terminal event
  }
}

/** Races `promise` against a real-time deadline (the timer never keeps the process alive). */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.`)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
