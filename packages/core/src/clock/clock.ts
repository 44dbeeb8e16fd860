/**
 * The engine's view of time: timestamps and timers. Everything the engine schedules (retry backoff,
 * step retries, task timeouts, lease heartbeats, durable sleeps) goes through one `Clock`, so a test can
 * drive time with a fake one (`createFakeClock()` in `@taskwire/testing`) instead of waiting.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once, `ms` from now (never synchronously); returns a function that cancels it
   * (idempotent). Timers do not keep the process alive.
   */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock: `Date.now` and unref'd `setTimeout`. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer(fn: () => void, ms: number): () => void {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
});

/** Resolves after `ms` on `clock`, or rejects with the signal's reason as soon as it aborts. */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
