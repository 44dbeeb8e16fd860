/**
 * An abort flag whose `AbortSignal` is created on first read. Most runs end without anyone reading
 * `ctx.signal` and without being stopped; an `AbortController` (and its signal) per run is then pure
 * allocation. Once created, the signal follows the flag; a signal created after the abort is born aborted.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** The abort reason (`undefined` until aborted). */
  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts once; later calls are ignored. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
