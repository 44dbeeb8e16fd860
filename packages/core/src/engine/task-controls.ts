import type { Logger } from "pino";
import type { Clock } from "../clock/clock";
import { encode } from "../codec/codec";
import { ValidationError } from "../errors/taskwire-error";
import type { TaskwireMetrics } from "../observe/metrics";
import type { TaskRecord, TaskStatus, TaskStore } from "../store/task-store";
import type { AnyTaskDefinition, InferTaskSignals } from "../task/define-task";
import { parseWith } from "../task/validate";
import { cancelChildren, requestCancel } from "./cancel-tree";
import type { TaskRegistry } from "./registry";
import { toSnapshot } from "./snapshot";
import type { TaskSnapshot } from "./task-ref";

/** What `cancel` returns. */
export interface CancelResult {
  taskId: string;
  /** The task's status after the request (`undefined` when the task is gone). */
  status: TaskStatus | undefined;
  /**
   * `requested`: accepted, the task stops (a running task, or one that first waits for its children);
   * `cancelled`: accepted and already settled (it was queued or waiting); `already_requested`;
   * `already_finished` (unchanged; its active children, if any, are still cancelled); `not_found`.
   */
  outcome: "cancelled" | "requested" | "already_requested" | "already_finished" | "not_found";
}

/** Options of `taskflow.signal`. */
export interface SignalOptions {
  /** Deduplicates deliveries to this task: a key already used returns the first delivery. */
  idempotencyKey?: string;
}

/** What `taskflow.signal` returns. */
export interface SignalResult {
  taskId: string;
  name: string;
  /** 0-based position of this signal among the task's signals of that name (arrival order). */
  index: number;
  /** True when the idempotency key matched an earlier delivery. */
  duplicate: boolean;
}

/** Signal names a task declares (any string for an untyped id). */
export type SignalName<TDef extends AnyTaskDefinition> = keyof InferTaskSignals<TDef> & string;

/** What the controls need from their taskflow. */
export interface ControlDeps {
  store: TaskStore;
  registry: TaskRegistry;
  clock: Clock;
  logger: Logger;
  /** Stops this process's run of a task whose cancel was just recorded (others hear it through the store). */
  stopLocal: (taskId: string) => void;
  /** Counts a task cancelled at once (never claimed again) as finished. */
  metrics?: TaskwireMetrics | undefined;
}

/**
 * Cancels a task and its tree: the request is recorded first (spawns after it fail), then every active
 * descendant is cancelled — also when the task itself is already finished — and the task settles
 * `cancelled` once its last active child has (its worker waits for them).
 */
export async function cancelTask(deps: ControlDeps, taskId: string): Promise<CancelResult> {
  const now = deps.clock.now();
  const result = await requestCancel(deps.store, taskId, now);
  if (!result) return { taskId, status: undefined, outcome: "not_found" };
  const { task, outcome } = result;
  if (outcome === "requested" || outcome === "already_requested") deps.stopLocal(taskId);
  if (outcome !== "cancelled") await cancelChildren(deps.store, taskId, now);
  if (outcome === "cancelled") deps.metrics?.taskFinished(task.name, "cancelled", now - task.createdAt);
  deps.logger.info({ event: "task.cancel_requested", taskId, task: task.name, outcome }, "cancel requested");
  return { taskId, status: task.status, outcome };
}

/** Validates a signal against the task's declared schema and delivers it. */
export async function signalTask(
  deps: ControlDeps,
  task: TaskRecord,
  name: string,
  payload: unknown,
  options: SignalOptions,
): Promise<SignalResult> {
  const { definition } = deps.registry.get(task.name);
  const schema = Object.hasOwn(definition.signals, name) ? definition.signals[name] : undefined;
  if (!schema) {
    throw new ValidationError(`signal of task "${task.name}"`, [
      { path: "name", message: `Task "${task.name}" declares no signal "${name}".` },
    ]);
  }
  const parsed = parseWith(schema, payload, `signal "${name}" of task "${task.name}"`);
  const delivery = await deps.store.deliverSignal({
    taskId: task.id,
    name,
    payload: encode(parsed),
    idempotencyKey: options.idempotencyKey,
    now: deps.clock.now(),
  });
  deps.logger.info(
    {
      event: "task.signal_delivered",
      taskId: task.id,
      task: task.name,
      signal: name,
      index: delivery.index,
      duplicate: delivery.duplicate,
    },
    "signal delivered",
  );
  return { taskId: task.id, name, index: delivery.index, duplicate: delivery.duplicate };
}

/** Puts a failed task back to `queued`; its run replays its checkpoints and continues its events. */
export async function retryTask(deps: ControlDeps, taskId: string): Promise<TaskSnapshot> {
  const task = await deps.store.retryTask(taskId, deps.clock.now());
  deps.logger.info(
    { event: "task.retry_requested", taskId, task: task.name, attempt: task.attempt },
    "task re-queued",
  );
  return toSnapshot(task);
}
