import type { Taskflow, TaskStore } from "@taskwire/core";
import { noop3 } from "./noop3";
import { nsToMs, perSecond } from "./stats";

/** A store whose `completed` settlements can be awaited per task. */
export interface CompletionStore {
  store: TaskStore;
  /** Resolves once `taskId`'s `completed` settlement is durable (also if it already is). */
  completion(taskId: string): Promise<void>;
}

/**
 * Wraps `inner` so each durable `completed` settlement (the store call resolved) resolves the task's
 * waiter. A plain object with the store's methods bound once, not a Proxy: a Proxy trap plus a fresh bound
 * function on every store call is harness cost (~7 calls per task) that the engine would be charged for.
 */
export function completionStore(inner: TaskStore): CompletionStore {
  const store: Record<string, unknown> = { kind: inner.kind };
  for (let proto = Object.getPrototypeOf(inner); proto && proto !== Object.prototype; ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (inner as unknown as Record<string, unknown>)[key];
      if (key !== "constructor" && !(key in store) && typeof value === "function")
        store[key] = value.bind(inner);
    }
    proto = Object.getPrototypeOf(proto);
  }
  const done = new Set<string>();
  const waiting = new Map<string, () => void>();
  const settleTask: TaskStore["settleTask"] = async (lease, settlement, now) => {
    await inner.settleTask(lease, settlement, now);
    if (settlement.status !== "completed") return;
    const resolve = waiting.get(lease.taskId);
    if (resolve) {
      waiting.delete(lease.taskId);
      resolve();
    } else done.add(lease.taskId);
  };
  store.settleTask = settleTask;
  return {
    store: store as unknown as TaskStore,
    completion: (taskId) =>
      done.delete(taskId) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(taskId, resolve)),
  };
}

/** What a closed-loop run measured. */
export interface ClosedLoopResult {
  tasksPerSec: number;
  tasks: number;
}

/**
 * `starters` callers each loop: `taskflow.start` a no-op 3-step task, wait until its `completed`
 * settlement is durable, start the next — for `durationMs`. The taskflow must run on `completions.store`
 * with `noop3` registered. The wait is seen at the store, so no subscription cost is charged (that is
 * the SSE scenarios' business); the floors have none either.
 */
export async function closedLoop(
  taskflow: Taskflow,
  completions: CompletionStore,
  options: { starters: number; durationMs: number },
): Promise<ClosedLoopResult> {
  let tasks = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.durationMs;
  await Promise.all(
    Array.from({ length: options.starters }, async () => {
      while (Date.now() < deadline) {
        const { taskId } = await taskflow.start(noop3, { i: tasks });
        await completions.completion(taskId);
        tasks += 1;
      }
    }),
  );
  return { tasksPerSec: perSecond(tasks, nsToMs(process.hrtime.bigint() - started)), tasks };
}
