import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { canonicalEncode, encode } from "../codec/codec";
import { IdempotencyConflictError } from "../errors/taskwire-error";
import { toSidecar } from "../identity/task-user";
import { getCurrentUserContext } from "../identity/user-context";
import type { TaskwireMetrics } from "../observe/metrics";
import type { Tracing } from "../observe/tracing";
import { isRunningLimited } from "../store/running-limits";
import type { TaskStore } from "../store/task-store";
import { checkPriority } from "../task/priority";
import { parseWith } from "../task/validate";
import { checkDebounce } from "./debounce-options";
import type { TaskRegistry } from "./registry";
import { limitedError, type TaskflowLimits } from "./start-limits";
import { newTaskId } from "./task-id";
import type { TaskLike } from "./task-ref";
import type { StartOptions, StartResult } from "./taskflow";
import type { Worker } from "./worker";

/** What {@link startTask} needs of its taskflow. */
export interface StartDeps {
  store: TaskStore;
  registry: TaskRegistry;
  logger: Logger;
  now: () => number;
  worker: Worker | undefined;
  workerId: string;
  leaseMs: number;
  /** Access tokens kept in memory for the tasks this node may run. */
  tokens: Map<string, string>;
  metrics: TaskwireMetrics | undefined;
  tracing: Tracing | undefined;
  limits: TaskflowLimits;
  idempotencyTtlMs: number;
}

/**
 * `taskflow.start`: validates the options and the input, then one `createTask` (the store applies the
 * idempotency key, the debounce window and the start limits atomically), and hands a task the store
 * created already claimed to this node's free worker slot.
 */
export async function startTask(
  deps: StartDeps,
  task: TaskLike | string,
  input: unknown,
  startOptions: StartOptions,
): Promise<StartResult> {
  const { store, registry, logger, worker, workerId, leaseMs, tokens, metrics, tracing, limits } = deps;
  const { definition } = registry.resolve(task);
  const priority = checkPriority(startOptions.priority, `start options of task "${definition.name}"`);
  const debounce = checkDebounce(startOptions, `start options of task "${definition.name}"`);
  const parsed = parseWith(definition.input, input, `input of task "${definition.name}"`);
  const user = getCurrentUserContext();
  const t = deps.now();
  const taskId = newTaskId();
  let idempotency: { key: string; inputHash: string; expiresAt: number } | undefined;
  if (startOptions.idempotencyKey !== undefined) {
    const inputHash = sha256(canonicalEncode(parsed));
    const key = startOptions.idempotencyKey === "input" ? `input:${inputHash}` : startOptions.idempotencyKey;
    idempotency = { key, inputHash, expiresAt: t + deps.idempotencyTtlMs };
  }
  // No local fast path for a debounced task (it waits out its period queued, later starts may still
  // fold into it) nor a capped one (the store counts the running tasks at the claim).
  const slot =
    debounce || isRunningLimited(registry.runningLimits(), definition.name) ? undefined : worker?.reserve();
  try {
    const result = await store.createTask({
      id: taskId,
      name: definition.name,
      input: encode(parsed),
      owner: user.userId,
      identity: JSON.stringify(toSidecar(user, tracing?.capture(startOptions.trace))),
      parentId: null, // only ctx.spawn makes children (with the parent's owner)
      runAt: debounce ? t + debounce.periodMs : t,
      now: t,
      priority,
      idempotency,
      debounce: debounce && { key: debounce.key, maxWaitMs: debounce.maxWaitMs },
      claimFor: slot ? { workerId, leaseMs } : undefined,
      maxActivePerOwner: startOptions.maxActivePerOwner,
      startRate: limits.startRate,
      maxQueued: limits.maxQueued,
    });
    if (!result.created) {
      if ("limited" in result) {
        const { created: _c, limited: _l, ...why } = result;
        logger.info(
          { event: "task.start_throttled", owner: user.userId, task: definition.name, ...why },
          `start refused: over the ${result.limit} limit`,
        );
        throw limitedError(result, {
          owner: user.userId,
          limits,
          maxActivePerOwner: startOptions.maxActivePerOwner,
          retryAfterMs: startOptions.retryAfterMs,
        });
      }
      if ("debounced" in result) {
        if (worker && user.accessToken !== undefined) tokens.set(result.task.id, user.accessToken);
        worker?.wakeDebounced(result.task.id, result.task.runAt);
        logger.debug(
          { event: "task.start_debounced", taskId: result.task.id, task: definition.name },
          "start folded into a debounced run",
        );
        return { taskId: result.task.id, created: false };
      }
      if (result.conflict) throw new IdempotencyConflictError(definition.name, result.task.id);
      logger.debug(
        { event: "task.start_deduplicated", taskId: result.task.id, task: definition.name },
        "start attached to existing run",
      );
      return { taskId: result.task.id, created: false };
    }
    // Kept only where a worker may run the task (and dropped by it once the task is done with).
    if (worker && user.accessToken !== undefined) tokens.set(taskId, user.accessToken);
    metrics?.taskStarted(definition.name);
    logger.debug({ event: "task.start_accepted", taskId, task: definition.name }, "task started");
    if (slot && result.lease) slot.run({ task: result.task, lease: result.lease });
    else if (debounce) worker?.wakeDebounced(taskId, result.task.runAt);
    else worker?.wake(); // created unclaimed: there is work to claim
    return { taskId, created: true };
  } finally {
    slot?.release(); // a no-op once the slot runs the task; frees it on every other path
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
