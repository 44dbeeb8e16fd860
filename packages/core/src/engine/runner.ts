import type { Logger } from "pino";
import { decode, encode } from "../codec/codec";
import {
  CancelledError,
  isRetriable,
  isTaskwireError,
  type SerializedError,
  serializeError,
  TaskTimeoutError,
} from "../errors/taskwire-error";
import { type IdentitySidecar, toTaskUser } from "../identity/task-user";
import { runInUserContext, SERVICE_PRINCIPAL } from "../identity/user-context";
import { LazyAbort } from "../internal/lazy-abort";
import { LazyLogger } from "../internal/lazy-logger";
import type { ClaimedTask, Settlement, TaskHistory, TaskStore } from "../store/task-store";
import { type ResolvedRetryPolicy, retryDelayMs } from "../task/retry-policy";
import { parseWith } from "../task/validate";
import type { TaskRegistry } from "./registry";
import { RunContext } from "./run-context";
import { RunStoppedError, type StopKind } from "./stop-reasons";

const EMPTY_HISTORY: TaskHistory = { steps: [], eventNames: [] };

/** What the runner needs from its taskflow. */
export interface RunnerDeps {
  store: TaskStore;
  registry: TaskRegistry;
  logger: Logger;
  now: () => number;
  /** In-memory access tokens of tasks started by this process (the worker drops each once it is done). */
  tokens: Map<string, string>;
}

/** A run in progress on this worker. */
export interface RunHandle {
  readonly claimed: ClaimedTask;
  /** Resolves to how the run settled (`undefined` when the lease was lost). */
  readonly done: Promise<Settlement | undefined>;
  stop(kind: StopKind, reason?: unknown): void;
  readonly stopKind: StopKind | undefined;
}

/** Terminal event payloads, shared by the runner and cancel. */
export const cancelledEventData = (reason = "requested") => encode({ reason });
const failedEventData = ({ code, message, internal }: SerializedError) =>
  encode({ error: internal ? { code, message, internal } : { code, message } });

/**
 * Runs one claimed task to a settlement: replays its history, runs the body under the owner's identity,
 * and settles it (completed, failed, retrying, cancelled, or handed back on shutdown). A lost lease ends
 * the run without writing anything.
 */
export function startRun(deps: RunnerDeps, claimed: ClaimedTask, onSettling?: () => void): RunHandle {
  const controller = new LazyAbort();
  let stopKind: StopKind | undefined;
  const stop = (kind: StopKind, reason?: unknown) => {
    if (stopKind === "lease_lost" || controller.aborted) {
      stopKind ??= kind;
      return;
    }
    stopKind = kind;
    const taskId = claimed.task.id;
    controller.abort(
      reason ?? (kind === "cancel" ? new CancelledError(taskId) : new RunStoppedError(kind, taskId)),
    );
  };
  const handle: RunHandle = {
    claimed,
    stop,
    get stopKind() {
      return stopKind;
    },
    done: Promise.resolve().then(() => execute(deps, claimed, controller, stop, () => stopKind, onSettling)),
  };
  return handle;
}

async function execute(
  deps: RunnerDeps,
  { task, lease }: ClaimedTask,
  signal: LazyAbort,
  stop: (kind: StopKind, reason?: unknown) => void,
  stopKind: () => StopKind | undefined,
  onSettling: (() => void) | undefined,
): Promise<Settlement | undefined> {
  const { store, logger: baseLogger, now } = deps;
  const registration = deps.registry.get(task.name);
  const definition = registration.definition;
  const logger = new LazyLogger(baseLogger, { taskId: task.id, task: task.name, attempt: task.attempt });
  const settle = async (settlement: Settlement): Promise<Settlement | undefined> => {
    try {
      const written = store.settleTask(lease, settlement, now());
      onSettling?.(); // the settlement is queued: the handler is done, its slot may be refilled now
      await written;
      logSettlement(logger, settlement);
      return settlement;
    } catch (error) {
      if (isTaskwireError(error, "STORE_CONFLICT")) {
        logger.warn({ event: "task.lease_lost" }, "lease lost before settling; another worker owns the task");
        return undefined;
      }
      throw error;
    }
  };

  if (task.cancelRequestedAt !== null) return settle({ status: "cancelled", event: cancelledEventData() });
  logger.debug({ event: "task.run_started", claims: task.claims }, "run started");

  let timer: NodeJS.Timeout | undefined;
  if (definition.timeoutMs !== undefined) {
    const timeoutMs = definition.timeoutMs;
    timer = setTimeout(() => stop("timeout", new TaskTimeoutError(task.id, timeoutMs)), timeoutMs);
  }
  let context: RunContext | undefined;
  // The try decides how the run ends; the settlement is written once, after it, so a store failure while
  // writing it propagates (the run is logged as crashed and its task reclaimed after the lease) instead
  // of being recorded as the task's own failure.
  let settlement: Settlement;
  try {
    // A first claim has no history; skip the read.
    const history = task.claims > 1 || task.attempt > 1 ? await store.loadHistory(task.id) : EMPTY_HISTORY;
    const sidecar: IdentitySidecar = task.identity ? JSON.parse(task.identity) : { userId: task.owner };
    const isService = task.owner === SERVICE_PRINCIPAL.userId;
    const user = toTaskUser(sidecar, isService, deps.tokens.get(task.id));
    const ctx = new RunContext({
      store,
      lease,
      definition,
      attempt: task.attempt,
      history,
      signal,
      user,
      logger,
      now,
      // Other write failures surface through the body (the next step or flush rethrows them).
      onLeaseLost: (error) => {
        if (isTaskwireError(error, "STORE_CONFLICT")) stop("lease_lost", error);
      },
    });
    context = ctx;
    const input = decode(task.input);
    const userContext = { userId: sidecar.userId, displayName: sidecar.displayName, claims: sidecar.claims };
    const value = await runInUserContext(userContext, () => ctx.enter(() => definition.run(input, ctx.api)));
    ctx.close();
    if (ctx.emitsPending) await ctx.flushEmits();
    if (stopKind() === "cancel") settlement = { status: "cancelled", event: cancelledEventData() };
    else if (stopKind() !== undefined) throw signal.reason;
    else {
      const result = parseWith(definition.result, value, `result of task "${task.name}"`);
      settlement = { status: "completed", result: encode(result), event: encode({ result }) };
    }
  } catch (thrown) {
    context?.close();
    await context?.flushEmits().catch(() => undefined);
    const kind = stopKind();
    if (kind === "lease_lost") {
      logger.warn({ event: "task.lease_lost" }, "lease lost; the run stopped without settling");
      return undefined;
    }
    settlement = settlementAfter(thrown, kind, signal.reason, task.attempt, definition.retry, now, logger);
  } finally {
    if (timer) clearTimeout(timer);
  }
  return await settle(settlement);
}

/** How a run that threw (or was stopped) ends: handed back, cancelled, retried later, or failed. */
function settlementAfter(
  thrown: unknown,
  kind: StopKind | undefined,
  reason: unknown,
  attempt: number,
  policy: ResolvedRetryPolicy,
  now: () => number,
  logger: LazyLogger,
): Settlement {
  if (kind === "shutdown") return { status: "queued", runAt: now() };
  if (kind === "cancel" || isTaskwireError(thrown, "CANCELLED")) {
    return { status: "cancelled", event: cancelledEventData() };
  }
  const cause = kind === "timeout" ? reason : thrown;
  const error = serializeError(cause);
  if (isRetriable(cause) && attempt < policy.maxAttempts) {
    const delayMs = retryDelayMs(policy, attempt + 1);
    logger.warn(
      { event: "task.retry_scheduled", delayMs, code: error.code, err: thrown },
      "attempt failed, retry scheduled",
    );
    return { status: "retrying", error, runAt: now() + delayMs };
  }
  logger.error({ event: "task.attempt_failed", code: error.code, err: thrown }, "task failed");
  return { status: "failed", error, event: failedEventData(error) };
}

function logSettlement(logger: LazyLogger, settlement: Settlement): void {
  if (settlement.status === "completed") logger.info({ event: "task.run_completed" }, "task completed");
  else if (settlement.status === "failed")
    logger.info({ event: "task.run_failed", code: settlement.error.code }, "task failed");
  else if (settlement.status === "cancelled") logger.info({ event: "task.run_cancelled" }, "task cancelled");
  else if (settlement.status === "queued") logger.info({ event: "task.lease_released" }, "task handed back");
}
