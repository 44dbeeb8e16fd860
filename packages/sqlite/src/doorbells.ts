import { AsyncLocalStorage } from "node:async_hooks";
import { LocalDoorbells, type Unwatch } from "@taskwire/core/store";

/** What the cross-process poll reads from the connection. */
export interface PollSource {
  /** `PRAGMA data_version`: changes whenever ANOTHER connection commits to the file. */
  dataVersion(): number;
  /** Ids of running tasks with a pending cancel request. */
  pendingCancels(): string[];
}

/**
 * Event, cancel and work doorbells: core's `LocalDoorbells` (in-process writers ring it right after their
 * commit) plus what only SQLite needs: commits made by other connections (other processes, or another
 * store on the same file) are noticed by one bounded poll of `PRAGMA data_version`, which runs only while
 * someone watches. Rings carry no data, so the poll simply rings every event watcher and every work
 * watcher when the file changed: readers re-read from their cursor, workers claim again.
 */
export class Doorbells {
  #bells = new LocalDoorbells();
  #pollIntervalMs: number;
  #source: PollSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastVersion = -1;
  /** Pending cancels already reported, so the poll reports each new one once. */
  #seenCancels = new Set<string>();
  // Timers capture the async context they are created in; create the poll timer in the context the store
  // was built in, so it never pins (or runs in) the context of the request that happened to watch first.
  #root = AsyncLocalStorage.snapshot();

  constructor(pollIntervalMs: number) {
    this.#pollIntervalMs = Math.max(1, pollIntervalMs);
  }

  /** Connects the poll to an open connection; starts polling if someone already watches. */
  attach(source: PollSource): void {
    this.#source = source;
    if (this.#bells.hasCancelWatchers()) this.#seedCancels();
    this.#updateTimer();
  }

  /** Stops polling (the connection is going away). Watchers stay registered for a later attach. */
  detach(): void {
    this.#source = undefined;
    this.#updateTimer();
  }

  /** Removes every watcher and stops the poll. */
  close(): void {
    this.detach();
    this.#bells.close();
  }

  /** `TaskStore.watchEvents`: also keeps the poll running while watched. */
  watchEvents(taskId: string, onChange: () => void): Unwatch {
    return this.#watching(this.#bells.watchEvents(taskId, onChange));
  }

  /** `TaskStore.watchCancels`: also keeps the poll running while watched. */
  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    const first = !this.#bells.hasCancelWatchers();
    const unwatch = this.#bells.watchCancels(onCancel);
    if (first) this.#seedCancels();
    return this.#watching(unwatch);
  }

  /** `TaskStore.watchWork`: also keeps the poll running while watched. */
  watchWork(onWork: () => void): Unwatch {
    return this.#watching(this.#bells.watchWork(onWork));
  }

  /** After a commit that made a task claimable by a wake-up: rings the work watchers on a later tick. */
  ringWork(): void {
    this.#bells.ringWork();
  }

  /** After a commit that appended events of `taskId`: rings its watchers on a later tick. */
  ringEvents(taskId: string): void {
    this.#bells.ringEvents(taskId);
  }

  /** After the commit that first recorded a cancel request for the running task `taskId`. */
  cancelRequested(taskId: string): void {
    this.#seenCancels.add(taskId); // the poll must not report it a second time
    this.#bells.cancelRequested(taskId);
  }

  #watching(unwatch: Unwatch): Unwatch {
    this.#updateTimer();
    return () => {
      unwatch();
      this.#updateTimer();
    };
  }

  #seedCancels(): void {
    const source = this.#source;
    if (source) this.#seenCancels = new Set(source.pendingCancels());
  }

  #updateTimer(): void {
    const bells = this.#bells;
    const watched = bells.hasEventWatchers() || bells.hasCancelWatchers() || bells.hasWorkWatchers();
    const wanted = this.#source !== undefined && watched;
    if (wanted && !this.#timer) {
      this.#lastVersion = this.#source!.dataVersion();
      this.#timer = this.#root(() => setInterval(() => this.#poll(), this.#pollIntervalMs));
      this.#timer.unref();
    } else if (!wanted && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #poll(): void {
    const source = this.#source;
    if (!source) return;
    let version: number;
    let pending: string[] | undefined;
    try {
      version = source.dataVersion();
      if (version === this.#lastVersion) return;
      if (this.#bells.hasCancelWatchers()) pending = source.pendingCancels();
    } catch {
      // The connection is unusable (closed under us); the store's next call reports that. A timer must
      // not turn it into an uncaught exception.
      return;
    }
    this.#lastVersion = version;
    this.#bells.ringAllEvents();
    this.#bells.ringWork(); // another connection may have spawned, signalled, retried or woken a task
    if (pending) {
      const seen = this.#seenCancels;
      this.#seenCancels = new Set(pending);
      for (const id of pending) if (!seen.has(id)) this.#bells.cancelRequested(id);
    }
  }
}
