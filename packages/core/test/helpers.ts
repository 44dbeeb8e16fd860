import { pino } from "pino";
import type { TaskEvent, Taskflow, TaskflowOptions, TaskStore } from "../src/index";
import { createTaskflow, memoryStore } from "../src/index";

export const silent = pino({ level: "silent" });

const crashed = new WeakSet<TaskStore>();

/** Creates a taskflow closed after the test. */
export async function makeTaskflow(
  onFinished: (fn: () => Promise<void>) => void,
  options: Partial<TaskflowOptions> = {},
): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: options.store ?? memoryStore(),
    logger: silent,
    pollIntervalMs: 20,
    leaseMs: 2_000,
    ...options,
  });
  // A "killed" process never shuts down; its hung calls are simply abandoned.
  onFinished(async () => {
    if (!crashed.has(taskflow.store)) await taskflow.shutdown();
  });
  return taskflow;
}

/** Collects every event of a task until its terminal event. */
export async function collect(taskflow: Taskflow, taskId: string, afterSeq = 0): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  for await (const event of taskflow.subscribe(taskId, { afterSeq })) out.push(event);
  return out;
}

/** A deferred promise. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Wraps a store so a test can "kill the process": after `crash()` every call hangs forever (no writes, no
 * heartbeats, no settle), exactly what a SIGKILLed worker looks like to the other workers sharing the store.
 */
export function crashableStore(inner: TaskStore): { store: TaskStore; crash: () => void } {
  let isCrashed = false;
  const never = new Promise<never>(() => {});
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "close") return Promise.resolve();
        if (isCrashed) return prop === "watchEvents" || prop === "watchCancels" ? () => {} : never;
        return value.apply(target, args);
      };
    },
  });
  return {
    store,
    crash: () => {
      isCrashed = true;
      crashed.add(store);
    },
  };
}

/** A plain object delegating to `inner` (bound methods), whose methods a test may replace. */
export function overridable(inner: TaskStore): TaskStore {
  const out: Record<string, unknown> = { kind: inner.kind };
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(inner))) {
    const value = (inner as unknown as Record<string, unknown>)[key];
    if (key !== "constructor" && typeof value === "function") out[key] = value.bind(inner);
  }
  return out as unknown as TaskStore;
}
