import { AsyncLocalStorage } from "node:async_hooks";
import type { Unwatch } from "./task-store";

/** Options of {@link LocalDoorbells}. */
export interface LocalDoorbellsOptions {
  /**
   * Receives what a watcher threw (once per throw). If it throws, the default report is used instead.
   * @default reportWatcherError (a `TaskwireWatcherError` process warning)
   */
  onWatcherError?: (error: unknown) => void;
}

interface Watcher<TArgs extends unknown[]> {
  fn: (...args: TArgs) => void;
  active: boolean;
}

/**
 * The one in-process watcher registry behind `TaskStore.watchEvents` and `watchCancels`. A store rings it
 * after its own commits (and after notifications or polls that saw other processes' commits); rings are
 * coalesced per task and delivered on a later tick, each callback in the async context of its `watch*`
 * call, never in the writer's. A throwing watcher is contained and reported (see `TaskStore.watchEvents`).
 * @example
 * const bells = new LocalDoorbells();
 * const unwatch = bells.watchEvents(taskId, () => cursor.reread());
 * bells.ringEvents(taskId); // after the commit that appended events of taskId
 */
export class LocalDoorbells {
  #events = new Map<string, Set<Watcher<[]>>>();
  #cancels = new Set<Watcher<[string]>>();
  #work = new Set<Watcher<[]>>();
  #workPending = false;
  #pendingEvents = new Set<string>();
  #pendingCancels = new Set<string>();
  #scheduled = false;
  #onWatcherError: (error: unknown) => void;
  // Deliveries start in the context the registry was built in, so the error hook (and anything a watcher
  // schedules before its own bound context applies) never inherits the identity of whoever wrote.
  #root = AsyncLocalStorage.snapshot();

  constructor(options: LocalDoorbellsOptions = {}) {
    this.#onWatcherError = options.onWatcherError ?? reportWatcherError;
  }

  /** Adds an event watcher for `taskId`; the returned `Unwatch` is idempotent. */
  watchEvents(taskId: string, onChange: () => void): Unwatch {
    const watcher: Watcher<[]> = { fn: AsyncLocalStorage.bind(onChange), active: true };
    let set = this.#events.get(taskId);
    if (!set) {
      set = new Set();
      this.#events.set(taskId, set);
    }
    set.add(watcher);
    const watchers = set;
    return () => {
      watcher.active = false;
      watchers.delete(watcher);
      if (watchers.size === 0 && this.#events.get(taskId) === watchers) this.#events.delete(taskId);
    };
  }

  /** Adds a cancel watcher; the returned `Unwatch` is idempotent. */
  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    const watcher: Watcher<[string]> = { fn: AsyncLocalStorage.bind(onCancel), active: true };
    this.#cancels.add(watcher);
    return () => {
      watcher.active = false;
      this.#cancels.delete(watcher);
    };
  }

  /** Adds a work watcher (`TaskStore.watchWork`); the returned `Unwatch` is idempotent. */
  watchWork(onWork: () => void): Unwatch {
    const watcher: Watcher<[]> = { fn: AsyncLocalStorage.bind(onWork), active: true };
    this.#work.add(watcher);
    return () => {
      watcher.active = false;
      this.#work.delete(watcher);
    };
  }

  /** Whether anyone watches for work. */
  hasWorkWatchers(): boolean {
    return this.#work.size > 0;
  }

  /** After a commit that made a task claimable by a wake-up: rings every work watcher (coalesced). */
  ringWork(): void {
    if (this.#work.size === 0) return;
    this.#workPending = true;
    this.#schedule();
  }

  /** Task ids with at least one event watcher. */
  watchedTaskIds(): string[] {
    return [...this.#events.keys()];
  }

  /** Whether anyone watches events of any task. */
  hasEventWatchers(): boolean {
    return this.#events.size > 0;
  }

  /** Whether anyone watches cancels. */
  hasCancelWatchers(): boolean {
    return this.#cancels.size > 0;
  }

  /** After a commit that made events of `taskId` readable: rings its watchers (coalesced, later tick). */
  ringEvents(taskId: string): void {
    if (!this.#events.has(taskId)) return;
    this.#pendingEvents.add(taskId);
    this.#schedule();
  }

  /** Rings every event watcher: for when other processes' commits may have been missed. */
  ringAllEvents(): void {
    if (this.#events.size === 0) return;
    for (const taskId of this.#events.keys()) this.#pendingEvents.add(taskId);
    this.#schedule();
  }

  /** After the commit that first recorded a cancel request for `taskId`: tells every cancel watcher. */
  cancelRequested(taskId: string): void {
    if (this.#cancels.size === 0) return;
    this.#pendingCancels.add(taskId);
    this.#schedule();
  }

  /** Drops every watcher and pending ring. The registry stays usable (a closed store may reopen). */
  close(): void {
    for (const set of this.#events.values()) for (const watcher of set) watcher.active = false;
    for (const watcher of this.#cancels) watcher.active = false;
    for (const watcher of this.#work) watcher.active = false;
    this.#events.clear();
    this.#cancels.clear();
    this.#work.clear();
    this.#workPending = false;
    this.#pendingEvents.clear();
    this.#pendingCancels.clear();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A later tick: a watcher never runs inside the writer's call stack.
    setImmediate(() => this.#root(() => this.#flush()));
  }

  #flush(): void {
    this.#scheduled = false;
    const events = [...this.#pendingEvents];
    const cancels = [...this.#pendingCancels];
    const work = this.#workPending;
    this.#pendingEvents.clear();
    this.#pendingCancels.clear();
    this.#workPending = false;
    for (const taskId of events) {
      for (const watcher of [...(this.#events.get(taskId) ?? [])]) this.#call(watcher, []);
    }
    for (const taskId of cancels) {
      for (const watcher of [...this.#cancels]) this.#call(watcher, [taskId]);
    }
    if (work) for (const watcher of [...this.#work]) this.#call(watcher, []);
  }

  #call<TArgs extends unknown[]>(watcher: Watcher<TArgs>, args: TArgs): void {
    // Unwatched by an earlier callback of this same delivery: "never called after unwatch" holds.
    if (!watcher.active) return;
    try {
      watcher.fn(...args);
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      this.#onWatcherError(error);
    } catch {
      // The hook broke its contract; the watcher's error must still show, and the delivery go on.
      reportWatcherError(error);
    }
  }
}

/**
 * The default watcher-error report: a process warning named `TaskwireWatcherError` whose `cause` is the
 * thrown value (printed to stderr by Node's default `warning` handler; never fatal).
 */
export function reportWatcherError(error: unknown): void {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const warning = new Error(`A task store watcher threw (it stays registered): ${reason}`, { cause: error });
  warning.name = "TaskwireWatcherError";
  process.emitWarning(warning);
}
