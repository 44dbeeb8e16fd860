import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type Logger, pino } from "pino";
import type { z } from "zod";
import { type Clock, systemClock } from "../clock/clock";
import { ShuttingDownError, TaskNotFoundError } from "../errors/taskwire-error";
import { getCurrentUserContext, isInUserContext } from "../identity/user-context";
import type { TaskwireMetrics } from "../observe/metrics";
import { loadTracing, type TraceCarrier, type TracingOptions } from "../observe/tracing";
import type { TaskFilter, TaskRecord, TaskStore } from "../store/task-store";
import type { AnyTaskDefinition, InferTaskInput, InferTaskSignals } from "../task/define-task";
import { type TaskRegistration, TaskRegistry } from "./registry";

export type { CancelResult, SignalOptions, SignalResult } from "./task-controls";

import type { DebounceOptions } from "./debounce-options";
import { eraseOwner, RetentionSweeper, retentionSettings } from "./retention";
import type { RunnerDeps } from "./runner";
import { toSnapshot } from "./snapshot";
import { checkLimits, type TaskflowLimits } from "./start-limits";
import { type StartDeps, startTask } from "./start-task";
import { type SubscribeOptions, subscribeEvents } from "./subscribe";
import {
  type CancelResult,
  type ControlDeps,
  cancelTask,
  retryTask,
  type SignalName,
  type SignalOptions,
  type SignalResult,
  signalTask,
} from "./task-controls";
import type { DefinitionOf, TaskEvent, TaskId, TaskLike, TaskRef, TaskSnapshot } from "./task-ref";
import { Worker } from "./worker";

/** Options of {@link createTaskflow}. */
export interface TaskflowOptions {
  /** Where tasks, checkpoints and events live (`sqliteStore()`, `postgresStore()`, `memoryStore()`). */
  store: TaskStore;
  /** pino logger. @default pino at `TASKWIRE_LOG_LEVEL` (info; silent when NODE_ENV=test) */
  logger?: Logger;
  /** Start this process's worker. @default true */
  worker?: boolean;
  /** Lease length; a crashed worker's tasks are reclaimed this long after its last heartbeat. @default 30000 */
  leaseMs?: number;
  /** Tasks run at once by this worker. @default 16 */
  concurrency?: number;
  /** How often the worker looks for work started elsewhere or left by a dead worker. @default 1000 */
  pollIntervalMs?: number;
  /** How long `shutdown()` waits for handlers to stop cooperatively. @default 10000 */
  shutdownTimeoutMs?: number;
  /** How long idempotency keys deduplicate starts. @default 86400000 (24 h) */
  idempotencyTtlMs?: number;
  /** Duplicate registrations throw (production) or warn and replace (development). @default NODE_ENV === "production" */
  production?: boolean;
  /** Worker id for leases and logs. @default `${hostname}:${pid}:${random}` */
  workerId?: string;
  /**
   * The engine's time: timestamps, retry backoff, step retries, timeouts and lease heartbeats (a test may
   * drive it with `createFakeClock()` from `@taskwire/testing`). @default systemClock
   */
  clock?: Clock;
  /**
   * How long finished tasks are kept: a root task terminal for longer is deleted with its children, events,
   * checkpoints, signals and idempotency keys (afterwards it is "not found" everywhere). Sweeps run where a
   * worker runs (`worker: false` never sweeps), one node at a time on a shared store. `false` keeps
   * everything; there is no `0`.
   * @default 604800000 (7 days)
   */
  retentionMs?: number | false;
  /** Time between retention sweeps (±25 % jitter; the first comes within 5 s of the start). @default 60000 */
  retentionIntervalMs?: number;
  /** Root tasks deleted per store call, each call one short transaction. @default 500 */
  retentionBatchSize?: number;
  /**
   * Receives counters and histograms (tasks started and finished, step durations, queue wait, lease
   * reclaims; the express bridge adds SSE streams and 429s). `prometheusMetrics()` from
   * `@taskwire/core/prometheus` is a ready one. @default none (nothing is counted)
   */
  metrics?: TaskwireMetrics;
  /**
   * OpenTelemetry spans: `taskwire.task.run` per run and `taskwire.step` per executed step, parented on the
   * trace context active at `start` (kept with the task, so also after a resume on another node). Needs the
   * optional peer `@opentelemetry/api`; `true` uses its global tracer provider. @default false
   */
  tracing?: boolean | TracingOptions;
  /**
   * Start limits kept in the store (so they hold across nodes): a per-owner start rate (token bucket)
   * and a cap on the queued backlog; see {@link TaskflowLimits}. @default none
   */
  limits?: TaskflowLimits;
}

/** Options of `taskflow.start`. */
export interface StartOptions {
  /**
   * Deduplicates starts per owner and task: a key already used attaches to the existing run; a different
   * input with the same key is an `IdempotencyConflictError`. `"input"` derives the key from the input.
   * Not combined with `debounce` (a `ValidationError`).
   */
  idempotencyKey?: string;
  /**
   * Debounces starts per owner, task and `key` (trailing edge): the first start queues a task due
   * `periodMs` later; each start while that task is still queued (not yet claimed) gives it its input and
   * pushes it to `periodMs` from now (never past `maxWaitMs` from the first), and answers the same task id
   * (`created: false`). Once a worker has claimed it, the next start opens a new window (a new task). A
   * start folded into a window creates nothing: it takes no start-rate token and no limit refuses it.
   * Invalid options are a `ValidationError` naming the field (`debounce.periodMs`). @default none
   * @example await taskflow.start(reindex, { docId }, { debounce: { key: docId, periodMs: 2000 } });
   */
  debounce?: DebounceOptions;
  /**
   * Refuse the start with a `BackpressureError` when the owner already has this many queued, running or
   * retrying tasks. Enforced atomically by the store, after the idempotency key: a start that re-attaches
   * to an existing run is never refused. @default no limit
   */
  maxActivePerOwner?: number;
  /** `retryAfterMs` of that `BackpressureError`. @default 5000 */
  retryAfterMs?: number;
  /**
   * The caller's W3C trace context (an HTTP request's `traceparent`/`tracestate` headers), the parent of the
   * task's spans when tracing is on and no span is active. The router passes it. @default none
   */
  trace?: TraceCarrier;
  /**
   * Claim priority, an integer from -10 to 10: among queued tasks a worker claims the highest first (then
   * owners in turn, then oldest first). A start that a free local slot runs at once is not queued at all.
   * Out of range is a `ValidationError` naming `priority`. @default 0
   */
  priority?: number;
}

/** What `start` returns. */
export interface StartResult<TDef extends AnyTaskDefinition = AnyTaskDefinition> {
  taskId: TaskId<TDef>;
  /** False when an idempotency key attached this call to an existing run, or a debounce window folded it in. */
  created: boolean;
}

/**
 * Filter of `taskflow.list` (a user context always narrows it to its own tasks). `after` resumes the
 * newest-first listing strictly after that task: pass the last snapshot's `createdAt` and `taskId`.
 */
export type ListFilter = Omit<TaskFilter, "after"> & { after?: { createdAt: Date; taskId: string } };

/**
 * A live Taskwire instance: registry, engine and worker over one store.
 *
 * Reads (`get`, `subscribe`, `cancel`, `list`) are owner-scoped inside a user context: another owner's
 * task is `TaskNotFoundError`. Outside any user context the caller is the service principal, which by
 * design reads every task (operators, CLIs, schedulers); code that serves users must therefore always
 * call inside `runInUserContext` (the `@taskwire/express` router and `asUser` do, for every route). The
 * context lives on `globalThis`, so it holds even when two copies of `@taskwire/core` are loaded.
 */
export interface Taskflow {
  readonly store: TaskStore;
  readonly logger: Logger;
  readonly workerId: string;
  /** The `metrics` option (the express bridge reports into it too); undefined when off. */
  readonly metrics: TaskwireMetrics | undefined;
  /** Registers a task definition and returns its typed ref. */
  task<TDef extends AnyTaskDefinition>(definition: TDef): TaskRef<TDef>;
  /** Whether a task name is registered. */
  hasTask(name: string): boolean;
  /** The registration of a task name; throws `UnknownTaskError`. */
  getRegistration(name: string): TaskRegistration;
  /** Validates input and starts a task as the current user; idempotent with a key. */
  start<T extends TaskLike>(
    task: T,
    input: InferTaskInput<DefinitionOf<T>>,
    options?: StartOptions,
  ): Promise<StartResult<DefinitionOf<T>>>;
  /** A snapshot of a task the current user owns; `TaskNotFoundError` otherwise. */
  get<TDef extends AnyTaskDefinition = AnyTaskDefinition>(
    taskId: TaskId<TDef> | string,
  ): Promise<TaskSnapshot<TDef>>;
  /** The task's visible events after `afterSeq`: replay, then live, until the terminal event. */
  subscribe<TDef extends AnyTaskDefinition = AnyTaskDefinition>(
    taskId: TaskId<TDef> | string,
    options?: SubscribeOptions,
  ): AsyncIterable<TaskEvent<TDef>>;
  /**
   * Requests cancellation of a task and its active children (sticky, idempotent); cancelling a finished
   * task changes nothing and says so (active children are still cancelled).
   */
  cancel(taskId: string): Promise<CancelResult>;
  /**
   * Delivers a signal declared by the task (`defineTask({ signals })`): validated, kept in arrival order per
   * name until a `ctx.waitForSignal(name)` consumes it, deduplicated by `idempotencyKey`. Owner only;
   * `TaskFinishedError` for a finished task.
   */
  signal<TDef extends AnyTaskDefinition = AnyTaskDefinition, K extends SignalName<TDef> = SignalName<TDef>>(
    taskId: TaskId<TDef> | string,
    name: K,
    payload: z.input<InferTaskSignals<TDef>[K]>,
    options?: SignalOptions,
  ): Promise<SignalResult>;
  /**
   * Puts a `failed` task back to `queued` (its completed checkpoints are not re-run; its events continue
   * after the `failed` one). `NotResumableError` for a task in any other status.
   */
  retry<TDef extends AnyTaskDefinition = AnyTaskDefinition>(
    taskId: TaskId<TDef> | string,
  ): Promise<TaskSnapshot<TDef>>;
  /** Lists tasks (the current user's only, inside a user context), newest first. */
  list(filter?: ListFilter): Promise<TaskSnapshot[]>;
  /**
   * Erasure: deletes every task `owner` owns, in any status, with everything that belongs to them, in
   * batches until none is left; resolves to how many were deleted. A run of one of them (on any node) stops
   * at its next write, without settling. Inside a user context it is scoped like every read: only the
   * caller's own id erases anything (a user may erase their own tasks); another owner id deletes nothing and
   * resolves `{ deleted: 0 }`, so a user can neither erase nor probe someone else's tasks.
   * @example await runAsService(() => taskflow.deleteTasksOfOwner(userId)); // a user asked to be forgotten
   */
  deleteTasksOfOwner(owner: string): Promise<{ deleted: number }>;
  /**
   * Stops retention sweeps (waiting for a batch in progress) and claiming, hands running tasks back for
   * another worker, and closes the store.
   */
  shutdown(): Promise<void>;
}

/**
 * Opens the store (applying migrations) and starts this process's worker.
 * @example
 * const taskflow = await createTaskflow({ store: sqliteStore() });
 * const report = taskflow.task(generateReport);
 * const { taskId } = await taskflow.start(report, { rows: 10 });
 * for await (const event of taskflow.subscribe(taskId)) console.log(event.name, event.data);
 */
export async function createTaskflow(options: TaskflowOptions): Promise<Taskflow> {
  const logger =
    options.logger ??
    pino({ level: process.env.TASKWIRE_LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info") });
  const store = options.store;
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const production = options.production ?? process.env.NODE_ENV === "production";
  const limits = checkLimits(options.limits);
  const registry = new TaskRegistry(production, logger, {
    max: limits.maxRunning,
    perOwner: limits.maxRunningPerOwner,
  });
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 86_400_000;
  const tokens = new Map<string, string>();
  const metrics = options.metrics;
  const tracing = options.tracing ? await loadTracing(options.tracing) : undefined;
  const deps: RunnerDeps = { store, registry, logger, clock, leaseMs, tokens, metrics, tracing };
  const retention = retentionSettings(options);

  await store.open();
  logger.debug({ event: "store.open_completed", store: store.kind }, "store opened");

  const worker =
    options.worker === false
      ? undefined
      : new Worker(deps, {
          workerId,
          concurrency: options.concurrency ?? 16,
          leaseMs,
          pollIntervalMs: options.pollIntervalMs ?? 1000,
          shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
        });
  const { retentionMs } = retention;
  const sweeper =
    worker && retentionMs !== undefined
      ? new RetentionSweeper({ store, clock, logger }, { ...retention, retentionMs })
      : undefined;
  const controls: ControlDeps = {
    store,
    registry,
    clock,
    logger,
    stopLocal: (taskId) => worker?.stopForCancel(taskId),
    metrics,
  };
  const starts: StartDeps = {
    store,
    registry,
    logger,
    now,
    worker,
    workerId,
    leaseMs,
    tokens,
    metrics,
    tracing,
    limits,
    idempotencyTtlMs,
  };
  let shuttingDown = false;
  let shutdownPromise: Promise<void> | undefined;

  /** Reads a task the current principal may see; others get "not found", never "forbidden". */
  const readOwned = async (taskId: string): Promise<TaskRecord> => {
    const task = typeof taskId === "string" && taskId.length > 0 ? await store.getTask(taskId) : undefined;
    if (!task || (isInUserContext() && task.owner !== getCurrentUserContext().userId))
      throw new TaskNotFoundError(String(taskId));
    return task;
  };

  const taskflow: Taskflow = {
    store,
    logger,
    workerId,
    metrics,
    task: (definition) => {
      const ref = registry.register(definition);
      worker?.wake();
      return ref;
    },
    hasTask: (name) => registry.has(name),
    getRegistration: (name) => registry.get(name),

    async start(task, input, startOptions = {}) {
      if (shuttingDown) throw new ShuttingDownError();
      return (await startTask(starts, task, input, startOptions)) as never;
    },

    async get(taskId) {
      return toSnapshot(await readOwned(taskId)) as never;
    },

    subscribe(taskId, subscribeOptions) {
      // Check access before the first event, but lazily: an AsyncIterable is returned synchronously.
      const iterate = async function* () {
        const task = await readOwned(taskId);
        yield* subscribeEvents(store, taskId, subscribeOptions, task);
      };
      return iterate() as never;
    },

    async cancel(taskId) {
      await readOwned(taskId);
      return cancelTask(controls, taskId);
    },

    async signal(taskId, name, payload, signalOptions = {}) {
      return signalTask(controls, await readOwned(taskId), name, payload, signalOptions);
    },

    async retry(taskId) {
      await readOwned(taskId);
      return (await retryTask(controls, taskId)) as never;
    },

    async list(filter = {}) {
      const owner = isInUserContext() ? getCurrentUserContext().userId : filter.owner;
      const { after, ...rest } = filter;
      const records = await store.listTasks({
        ...rest,
        owner,
        after: after && { createdAt: after.createdAt.getTime(), id: after.taskId },
      });
      return records.map(toSnapshot);
    },

    async deleteTasksOfOwner(owner) {
      if (isInUserContext() && getCurrentUserContext().userId !== owner) {
        logger.warn({ event: "task.owner_erase_refused" }, "a user context asked to erase another owner");
        return { deleted: 0 };
      }
      return { deleted: await eraseOwner({ store, logger }, owner, retention.batchSize) };
    },

    shutdown() {
      shutdownPromise ??= (async () => {
        shuttingDown = true;
        await sweeper?.stop();
        await worker?.stop();
        await store.close();
        logger.info({ event: "taskflow.shutdown_completed" }, "taskflow shut down");
      })();
      return shutdownPromise;
    },
  };
  worker?.start();
  sweeper?.start();
  return taskflow;
}
