/** What a {@link FallbackPoll} needs. */
export interface FallbackPollOptions {
  intervalMs: number;
  /** Task ids currently watched. */
  watched: () => string[];
  /** Current `last_seq` by task id (ids that do not exist are simply absent). */
  readSeqs: (taskIds: string[]) => Promise<Map<string, number>>;
  /** Rings the watchers of one task. */
  ring: (taskId: string) => void;
  /** Called on every tick, before the read (which only runs while tasks are watched). */
  tick?: () => void;
}

/**
 * A bounded safety net under LISTEN/NOTIFY: while tasks are watched, one query per interval reads their
 * `last_seq` and rings those that moved (or are seen for the first time — a spurious ring is harmless,
 * a missed one is not). It covers a listener connection that died silently or is still reconnecting.
 * At most one poll is in flight; failures are retried on the next tick. `tick` runs on every tick
 * whether or not anything is watched.
 */
export class FallbackPoll {
  #options: FallbackPollOptions;
  #seen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(options: FallbackPollOptions) {
    this.#options = options;
  }

  /** Starts polling (no-op when the interval is 0 or already started). */
  start(): void {
    if (this.#options.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops polling. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#seen.clear();
  }

  async #tick(): Promise<void> {
    this.#options.tick?.();
    if (this.#busy) return;
    const ids = this.#options.watched();
    const watched = new Set(ids);
    for (const id of this.#seen.keys()) if (!watched.has(id)) this.#seen.delete(id);
    if (ids.length === 0) return;
    this.#busy = true;
    try {
      const seqs = await this.#options.readSeqs(ids);
      if (!this.#timer) return;
      for (const [id, seq] of seqs) {
        if (this.#seen.get(id) !== seq) {
          this.#seen.set(id, seq);
          this.#options.ring(id);
        }
      }
    } catch {
      // The pool is unreachable too; the next tick (or the listener's reconnect) tries again.
    } finally {
      this.#busy = false;
    }
  }
}
