/**
 * A level-triggered doorbell: `ring()` sets it, `wait()` resolves once it is set (at once if it already
 * is) and clears it. Readers clear it before reading, so a ring during the read is never lost.
 */
export class Bell {
  #rung = false;
  #waiters: Array<() => void> = [];

  ring(): void {
    this.#rung = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Clears the bell; call before re-reading the source of truth. */
  clear(): void {
    this.#rung = false;
  }

  /** Resolves when rung, when `timeoutMs` passes, or when `signal` aborts. */
  wait(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    if (this.#rung || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
