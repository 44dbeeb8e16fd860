import { AsyncLocalStorage } from "node:async_hooks";
import type { Unwatch } from "@taskwire/core";

/**
 * The store's local watcher registry. Rings arrive from this store's own committed writes (the fast
 * path), from the listener connection (NOTIFY from every other store), from the fallback poll
 * and from the after-reconnect "ring everyone"; they are coalesced per task and delivered
 * on a later tick. Every callback is bound to the async context of its `watch*` call, so it never runs
 * with the identity of whoever's write (or whichever socket) caused the ring.
 */
export class Doorbells {
  #events = new Map<string, Set<() => void>>();
  #cancels = new Set<(taskId: string) => void>();
  #pendingEvents = new Set<string>();
  #pendingCancels = new Set<string>();
  #scheduled = false;

  /** Adds an event watcher for `taskId`. */
  watchEvents(taskId: string, onChange: () => void): Unwatch {
    const bound = AsyncLocalStorage.bind(onChange);
    let watchers = this.#events.get(taskId);
    if (!watchers) {
      watchers = new Set();
      this.#events.set(taskId, watchers);
    }
    watchers.add(bound);
    const set = watchers;
    return () => {
      set.delete(bound);
      if (set.size === 0 && this.#events.get(taskId) === set) this.#events.delete(taskId);
    };
  }

  /** Adds a cancel watcher. */
  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    const bound = AsyncLocalStorage.bind(onCancel);
    this.#cancels.add(bound);
    return () => {
      this.#cancels.delete(bound);
    };
  }

  /** Task ids with at least one event watcher. */
  watchedTaskIds(): string[] {
    return [...this.#events.keys()];
  }

  /** Whether anyone watches cancels. */
  hasCancelWatchers(): boolean {
    return this.#cancels.size > 0;
  }

  /** Rings the watchers of `taskId` (coalesced, next tick). */
  ringEvents(taskId: string): void {
    if (!this.#events.has(taskId)) return;
    this.#pendingEvents.add(taskId);
    this.#schedule();
  }

  /** Rings every event watcher: used when notifications may have been missed. */
  ringAllEvents(): void {
    for (const taskId of this.#events.keys()) this.#pendingEvents.add(taskId);
    this.#schedule();
  }

  /** Tells every cancel watcher that `taskId` has a cancel request (coalesced, next tick). */
  ringCancel(taskId: string): void {
    if (this.#cancels.size === 0) return;
    this.#pendingCancels.add(taskId);
    this.#schedule();
  }

  /** Drops every watcher and pending ring. */
  clear(): void {
    this.#events.clear();
    this.#cancels.clear();
    this.#pendingEvents.clear();
    this.#pendingCancels.clear();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const events = [...this.#pendingEvents];
    const cancels = [...this.#pendingCancels];
    this.#pendingEvents.clear();
    this.#pendingCancels.clear();
    // One throwing watcher must not starve the others; the first error still surfaces (as it would
    // from an EventEmitter) instead of being swallowed.
    let failure: { error: unknown } | undefined;
    const call = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        failure ??= { error };
      }
    };
    for (const taskId of events) {
      for (const watcher of [...(this.#events.get(taskId) ?? [])]) call(watcher);
    }
    for (const taskId of cancels) {
      for (const watcher of [...this.#cancels]) call(() => watcher(taskId));
    }
    if (failure) throw failure.error;
  }
}
