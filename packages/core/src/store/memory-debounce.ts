import type { DebounceSpec, NewTask, TaskRecord } from "./task-store";

/** One open debounce window of the memory store: the key's task and the cap of its `runAt`. */
interface DebounceWindow {
  taskId: string;
  maxRunAt: number | null;
}

/**
 * The memory store's debounce windows, keyed by (owner, task name, key). The store runs each `createTask`
 * synchronously, so a lookup, the update and the insert are one atomic step, as on the SQL stores.
 */
export class DebounceWindows {
  #windows = new Map<string, DebounceWindow>();

  /**
   * Folds a debounced start into its window's task when that task is still `queued` and never claimed:
   * the latest input and identity, `runAt` pushed (capped at the window's `maxRunAt`), a new revision.
   * Returns the updated task, or `undefined` when the start must open a new window.
   */
  fold(spec: NewTask & { debounce: DebounceSpec }, tasks: Map<string, TaskRecord>): TaskRecord | undefined {
    const window = this.#windows.get(windowKey(spec));
    const task = window && tasks.get(window.taskId);
    if (!window || !task || task.status !== "queued" || task.claims !== 0) return undefined;
    task.input = spec.input;
    task.identity = spec.identity;
    task.runAt = window.maxRunAt === null ? spec.runAt : Math.min(spec.runAt, window.maxRunAt);
    task.revision += 1;
    task.updatedAt = spec.now;
    return task;
  }

  /** Makes `spec`'s new task the key's window (replacing a window whose task was claimed or deleted). */
  open(spec: NewTask & { debounce: DebounceSpec }): void {
    const { maxWaitMs } = spec.debounce;
    this.#windows.set(windowKey(spec), {
      taskId: spec.id,
      maxRunAt: maxWaitMs === undefined ? null : spec.now + maxWaitMs,
    });
  }

  /** Drops the windows of deleted tasks (retention, erasure). */
  forget(doomed: ReadonlySet<string>): void {
    for (const [key, window] of this.#windows) if (doomed.has(window.taskId)) this.#windows.delete(key);
  }
}

function windowKey(spec: NewTask & { debounce: DebounceSpec }): string {
  return JSON.stringify([spec.owner, spec.name, spec.debounce.key]);
}
