import { AsyncLocalStorage } from "node:async_hooks";
import { EventEmitter } from "node:events";
import type { Unwatch } from "@taskwire/core";

/** What the cross-process poll reads from the connection. */
export interface PollSource {
  /** `PRAGMA data_version`: changes whenever ANOTHER connection commits to the file. */
  dataVersion(): number;
  /** Ids of running tasks with a pending cancel request. */
  pendingCancels(): string[];
}

const CANCEL = "cancel";
const channel = (taskId: string) => `events:${taskId}`;

/**
 * Event and cancel doorbells. In-process writers ring right after their commit; commits made by other
 * connections (other processes, or another store on the same file) are noticed by one bounded poll of
 * `PRAGMA data_version`, which runs only while someone watches. Rings carry no data, so the poll simply
 * rings every event watcher when the file changed: readers re-read from their cursor.
 */
export class Doorbells {
  #bus = new EventEmitter().setMaxListeners(0);
  #pollIntervalMs: number;
  #source: PollSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastVersion = -1;
  #eventWatchers = 0;
  #cancelWatchers = 0;
  #rings = new Set<string>();
  #ringScheduled = false;
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
    if (this.#cancelWatchers > 0) this.#seedCancels();
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
    this.#bus.removeAllListeners();
    this.#eventWatchers = 0;
    this.#cancelWatchers = 0;
  }

  watchEvents(taskId: string, onChange: () => void): Unwatch {
    const bound = AsyncLocalStorage.bind(onChange); // runs in the watcher's context, not the writer's
    this.#bus.on(channel(taskId), bound);
    this.#eventWatchers += 1;
    this.#updateTimer();
    return this.#unwatch(channel(taskId), bound, () => {
      this.#eventWatchers -= 1;
    });
  }

  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    const bound = AsyncLocalStorage.bind(onCancel);
    this.#bus.on(CANCEL, bound);
    this.#cancelWatchers += 1;
    if (this.#cancelWatchers === 1) this.#seedCancels();
    this.#updateTimer();
    return this.#unwatch(CANCEL, bound, () => {
      this.#cancelWatchers -= 1;
    });
  }

  /** After a commit that appended events of `taskId`: rings its watchers on a later tick. */
  ringEvents(taskId: string): void {
    // Most appends have no watcher in this process: skip the channel lookup (a string build) for them.
    if (this.#eventWatchers === 0 || this.#bus.listenerCount(channel(taskId)) === 0) return;
    this.#rings.add(taskId);
    if (this.#ringScheduled) return;
    this.#ringScheduled = true;
    // A later tick: a watcher never runs inside the writer's call stack or async context.
    setImmediate(() => {
      this.#ringScheduled = false;
      const ids = [...this.#rings];
      this.#rings.clear();
      for (const id of ids) this.#bus.emit(channel(id));
    });
  }

  /** After the commit that first recorded a cancel request for the running task `taskId`. */
  cancelRequested(taskId: string): void {
    this.#seenCancels.add(taskId); // the poll must not report it a second time
    if (this.#cancelWatchers === 0) return;
    setImmediate(() => this.#bus.emit(CANCEL, taskId)); // like events: never inside the writer's call
  }

  #unwatch(name: string, listener: (taskId: string) => void, onRemoved: () => void): Unwatch {
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      if (this.#bus.listeners(name).includes(listener)) {
        this.#bus.off(name, listener);
        onRemoved();
      }
      this.#updateTimer();
    };
  }

  #seedCancels(): void {
    const source = this.#source;
    if (source) this.#seenCancels = new Set(source.pendingCancels());
  }

  #updateTimer(): void {
    const wanted = this.#source !== undefined && this.#eventWatchers + this.#cancelWatchers > 0;
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
      if (this.#cancelWatchers > 0) pending = source.pendingCancels();
    } catch {
      // The connection is unusable (closed under us); the store's next call reports that. A timer must
      // not turn it into an uncaught exception.
      return;
    }
    this.#lastVersion = version;
    if (this.#eventWatchers > 0) {
      for (const name of this.#bus.eventNames()) if (name !== CANCEL) this.#bus.emit(name);
    }
    if (pending) {
      const seen = this.#seenCancels;
      this.#seenCancels = new Set(pending);
      for (const id of pending) if (!seen.has(id)) this.#bus.emit(CANCEL, id);
    }
  }
}
