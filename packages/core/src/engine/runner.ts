import type { Logger } from "pino";
import type { Clock } from "../clock/clock";
import { decode, encode } from "../codec/codec";
import {
  CancelledError,
  isRetriable,
  isTaskwireError,
  type SerializedError,
  serializeError,
  TaskTimeoutError,
} from "../errors/taskwire-error";
import { parseIdentitySidecar, toTaskUser } from "../identity/task-user";
import { runInUserContext, SERVICE_PRINCIPAL } from "../identity/user-context";
import { LazyAbort } from "../internal/lazy-abort";
import { LazyLogger } from "../internal/lazy-logger";
import type { FinishedStatus, TaskwireMetrics } from "../observe/metrics";
import { type RunTrace, storedTraceCarrier, type Tracing } from "../observe/tracing";
import {
  type ClaimedTask,
  isTerminalStatus,
  NEVER_DUE,
  type Settlement,
  type TaskHistory,
  type TaskStore,
} from "../store/task-store";
import type { AnyTaskDefinition } from "../task/define-task";
import { retryDelayMs } from "../task/retry-policy";
import { parseWith } from "../task/validate";
import { cancelChildren } from "./cancel-tree";
import { cancelledEventData } from "./cancelled-event";
import type { TaskRegistry } from "./registry";
import { RunContext } from "./run-context";
import { RunStoppedError, type StopKind } from "./stop-reasons";
import type { WaitRequest } from "./suspension";

const EMPTY_HISTORY: TaskHistory = { steps: [], eventNames: [] };

/** What the runner needs from its taskflow. */
export interface RunnerDeps {
  store: TaskStore;
  registry: TaskRegistry;
  logger: Logger;
  clock: Clock;
  /** Lease length (a conflict check renews the lease for this long). */
  leaseMs: number;
  /** In-memory access tokens of tasks started by this process (the worker drops each once it is done). */
  tokens: Map<string, string>;
  /** Counters and histograms (`createTaskflow({ metrics })`); undefined when off. */
  metrics?: TaskwireMetrics | undefined;
  /** OpenTelemetry spans (`createTaskflow({ tracing })`); undefined when off. */
  tracing?: Tracing | undefined;
}

/** A run in progress on this worker. */
export interface RunHandle {
  readonly claimed: ClaimedTask;
  /** Resolves to how the run settled (`undefined` when the lease was lost). */
  readonly done: Promise<Settlement | undefined>;
  stop(kind: StopKind, reason?: unknown): void;
  readonly stopKind: StopKind | undefined;
}

const failedEventData = ({ code, message, internal }: SerializedError) =>
  encode({ error: internal ? { code, message, internal } : { code, message } });

/**
 * Runs one claimed task to a settlement: replays its history, runs the body under the owner's identity,
 * and settles it (completed, failed, retrying, cancelled, or handed back on shutdown). A lost lease ends
 * the run without writing anything. `onSettling` is called once the settlement is queued (the handler is
 * done; its worker slot may be refilled before the write commits).
 */
export function startRun(deps: RunnerDeps, claimed: ClaimedTask, onSettling?: () => void): RunHandle {
  const run = new TaskRun(deps, claimed, onSettling);
  return {
    claimed,
    stop: (kind, reason) => run.stop(kind, reason),
    get stopKind() {
      return run.stopKind;
    },
    done: Promise.resolve().then(() => run.execute()),
  };
}

/** The state of one run: what it runs, why it was stopped, and how it settles. */
class TaskRun {
  readonly #deps: RunnerDeps;
  readonly #claimed: ClaimedTask;
  readonly #onSettling: (() => void) | undefined;
  readonly #definition: AnyTaskDefinition;
  readonly #logger: LazyLogger;
  readonly #abort = new LazyAbort();
  #trace: RunTrace | undefined;
  #startedAt = 0;
  stopKind: StopKind | undefined;

  constructor(deps: RunnerDeps, claimed: ClaimedTask, onSettling: (() => void) | undefined) {
    this.#deps = deps;
    this.#claimed = claimed;
    this.#onSettling = onSettling;
    const { task } = claimed;
    this.#definition = deps.registry.get(task.name).definition;
    this.#logger = new LazyLogger(deps.logger, { taskId: task.id, task: task.name, attempt: task.attempt });
  }

  /** Aborts the handler once; the first reason wins (a lost lease also keeps later stops from settling). */
  stop(kind: StopKind, reason?: unknown): void {
    if (this.stopKind !== undefined) return;
    this.stopKind = kind;
    const taskId = this.#claimed.task.id;
    this.#abort.abort(
      reason ?? (kind === "cancel" ? new CancelledError(taskId) : new RunStoppedError(kind, taskId)),
    );
  }

  /** Runs and settles the task, under its run span when tracing is on. */
  execute(): Promise<Settlement | undefined> {
    const { tracing } = this.#deps;
    // Not async itself: without tracing the run's own promise is returned, no extra one per task.
    return tracing ? this.#traced(tracing) : this.#execute();
  }

  async #traced(tracing: Tracing): Promise<Settlement | undefined> {
    const { task } = this.#claimed;
    const trace = tracing.startRun(task, storedTraceCarrier(task.identity));
    this.#trace = trace;
    try {
      const settlement = await this.#execute();
      trace.end(
        settlement?.status ?? "lease_lost",
        settlement?.status === "failed" ? settlement.error : undefined,
      );
      return settlement;
    } catch (error) {
      trace.end("crashed", error);
      throw error;
    }
  }

  async #execute(): Promise<Settlement | undefined> {
    const { task } = this.#claimed;
    this.#startedAt = this.#deps.clock.now();
    if (task.cancelRequestedAt !== null) return this.#settle(await this.#cancelled());
    this.#logger.debug({ event: "task.run_started", claims: task.claims }, "run started");
    const timeoutMs = this.#definition.timeoutMs;
    const cancelTimeout =
      timeoutMs === undefined
        ? undefined
        : this.#deps.clock.setTimer(
            () => this.stop("timeout", new TaskTimeoutError(task.id, timeoutMs)),
            timeoutMs,
          );
    // The try decides how the run ends; the settlement is written once, after it, so a store failure while
    // writing it propagates (the run is logged as crashed and its task reclaimed after the lease) instead
    // of being recorded as the task's own failure.
    let settlement: Settlement;
    try {
      settlement = await this.#runBody();
    } catch (thrown) {
      if (this.stopKind === "lease_lost") {
        this.#logger.warn({ event: "task.lease_lost" }, "lease lost; the run stopped without settling");
        return undefined;
      }
      settlement = await this.#settlementAfter(thrown);
    } finally {
      cancelTimeout?.();
    }
    return await this.#settle(settlement);
  }

  async #runBody(): Promise<Settlement> {
    const { task, lease } = this.#claimed;
    const { store, clock } = this.#deps;
    // A first claim has no history; skip the read.
    const history = task.claims > 1 || task.attempt > 1 ? await store.loadHistory(task.id) : EMPTY_HISTORY;
    const sidecar = parseIdentitySidecar(task.identity, task.owner);
    const isService = task.owner === SERVICE_PRINCIPAL.userId;
    const ctx = new RunContext({
      store,
      lease,
      definition: this.#definition,
      attempt: task.attempt,
      history,
      signal: this.#abort,
      user: toTaskUser(sidecar, isService, this.#deps.tokens.get(task.id)),
      logger: this.#logger,
      clock,
      metrics: this.#deps.metrics,
      trace: this.#trace,
      // Other write failures surface through the body (the next step or flush rethrows them).
      onLeaseLost: (error) => {
        if (isTaskwireError(error, "STORE_CONFLICT")) void this.#checkLease(error);
      },
    });
    try {
      const input = decode(task.input);
      const userContext = {
        userId: sidecar.userId,
        displayName: sidecar.displayName,
        claims: sidecar.claims,
      };
      const runBody = () => ctx.enter(() => this.#definition.run(input, ctx.api));
      const trace = this.#trace;
      const body = runInUserContext(userContext, trace ? () => trace.within(runBody) : runBody);
      // The body ends by returning, by throwing, or by parking on a wait it cannot complete now (a child
      // still running, a timer not due, no signal yet): then the task waits without a lease or a slot.
      const ended = await bodyOrWait(body, ctx);
      ctx.close();
      if (ctx.emitsPending) await ctx.flushEmits();
      if (this.stopKind === "cancel") return await this.#cancelled();
      if (this.stopKind !== undefined) throw this.#abort.reason;
      if ("wait" in ended) {
        const { runAt, wakeOn } = ended.wait;
        this.#logger.debug({ event: "task.wait_started", runAt }, "task waiting");
        return { status: "waiting", runAt: runAt ?? NEVER_DUE, wakeOn };
      }
      const value = ended.value;
      const result = parseWith(this.#definition.result, value, `result of task "${task.name}"`);
      return { status: "completed", result: encode(result), event: encode({ result }) };
    } catch (error) {
      ctx.close();
      await ctx.flushEmits().catch(() => undefined);
      throw error;
    }
  }

  /**
   * A cancelled run ends `cancelled` once its children are: active ones are cancelled first (on whichever
   * node runs them) and the task waits for them, woken as each settles.
   */
  async #cancelled(): Promise<Settlement> {
    const { store, clock } = this.#deps;
    const active = await cancelChildren(store, this.#claimed.task.id, clock.now());
    if (active.length === 0) return { status: "cancelled", event: cancelledEventData() };
    this.#logger.info(
      { event: "task.cancel_waiting", children: active.length },
      "waiting for children to cancel",
    );
    return { status: "waiting", runAt: NEVER_DUE, wakeOn: { children: active } };
  }

  /**
   * A fenced write conflicted: either the lease is gone (stop at once: another worker owns the task) or
   * the write itself was refused with the lease still held (a checkpoint slot already taken — a bug or a
   * non-deterministic body). The latter must fail the run like any error, not pass for a lost lease: the
   * task would be reclaimed and meet the same conflict forever.
   */
  async #checkLease(error: unknown): Promise<void> {
    try {
      const { store, clock, leaseMs } = this.#deps;
      const state = await store.renewLease(this.#claimed.lease, clock.now(), leaseMs);
      if (!state.held) this.stop("lease_lost", error);
    } catch {
      this.stop("lease_lost", error); // the store is unreachable: stop; the settlement is fenced anyway
    }
  }

  /** How a run that threw (or was stopped) ends: handed back, cancelled, retried later, or failed. */
  async #settlementAfter(thrown: unknown): Promise<Settlement> {
    const kind = this.stopKind;
    const now = this.#deps.clock.now();
    if (kind === "shutdown") return { status: "queued", runAt: now };
    // A child's CancelledError surfacing from `handle.result()` is the parent's failure to handle, not a
    // cancel of the parent: only a cancel of this task (or its own CancelledError) ends it `cancelled`.
    if (
      kind === "cancel" ||
      (isTaskwireError(thrown, "CANCELLED") && isOwnCancel(thrown, this.#claimed.task.id))
    ) {
      return await this.#cancelled();
    }
    const cause = kind === "timeout" ? this.#abort.reason : thrown;
    const error = serializeError(cause);
    const attempt = this.#claimed.task.attempt;
    const policy = this.#definition.retry;
    if (isRetriable(cause) && attempt < policy.maxAttempts) {
      const delayMs = retryDelayMs(policy, attempt + 1);
      this.#logger.warn(
        { event: "task.retry_scheduled", delayMs, code: error.code, err: thrown },
        "attempt failed, retry scheduled",
      );
      return { status: "retrying", error, runAt: now + delayMs };
    }
    this.#logger.error({ event: "task.attempt_failed", code: error.code, err: thrown }, "task failed");
    return { status: "failed", error, event: failedEventData(error) };
  }

  async #settle(settlement: Settlement): Promise<Settlement | undefined> {
    try {
      const written = this.#deps.store.settleTask(this.#claimed.lease, settlement, this.#deps.clock.now());
      this.#onSettling?.(); // the settlement is queued: the handler is done, its slot may be refilled now
      await written;
      const now = this.#deps.clock.now();
      logSettlement(this.#logger, settlement, now - this.#startedAt);
      const { metrics } = this.#deps;
      if (metrics && isTerminalStatus(settlement.status)) {
        const { task } = this.#claimed;
        metrics.taskFinished(task.name, settlement.status as FinishedStatus, now - task.createdAt);
      }
      return settlement;
    } catch (error) {
      if (isTaskwireError(error, "STORE_CONFLICT")) {
        this.#logger.warn(
          { event: "task.lease_lost" },
          "lease lost before settling; another worker owns the task",
        );
        return undefined;
      }
      throw error;
    }
  }
}

/** The body's value, or the wait it parked on: whichever comes first (one promise per run). */
function bodyOrWait(body: unknown, ctx: RunContext): Promise<{ value: unknown } | { wait: WaitRequest }> {
  return new Promise((resolve, reject) => {
    Promise.resolve(body).then((value) => resolve({ value }), reject);
    ctx.whenParked((wait) => resolve({ wait }));
  });
}

function isOwnCancel(error: { details?: Record<string, unknown> | undefined }, taskId: string): boolean {
  return error.details?.taskId === undefined || error.details.taskId === taskId;
}

/** One line per settlement; `durationMs` is this run's (claim to settlement). */
function logSettlement(logger: LazyLogger, settlement: Settlement, durationMs: number): void {
  const { status } = settlement;
  if (status === "completed") logger.info({ event: "task.run_completed", durationMs }, "task completed");
  else if (status === "failed")
    logger.info({ event: "task.run_failed", code: settlement.error.code, durationMs }, "task failed");
  else if (status === "cancelled") logger.info({ event: "task.run_cancelled", durationMs }, "task cancelled");
  else if (status === "queued") logger.info({ event: "task.lease_released", durationMs }, "task handed back");
  else if (status === "waiting") logger.debug({ event: "task.wait_settled", durationMs }, "task waiting");
}
