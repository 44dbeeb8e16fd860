import type { Clock } from "@taskwire/core";

/** Options of {@link createFakeClock}. */
export interface FakeClockOptions {
  /**
   * Real macrotask turns (`setImmediate`) the clock yields before and after each timer it fires, so store
   * I/O and promise chains a timer started finish before the next timer is due. Raise it for a store
   * whose writes take more turns to commit. @default 20
   */
  settleTurns?: number;
}

/** A {@link Clock} whose time moves only when a test moves it. */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, firing every timer due on the way in time order (`now()` reads each
   * timer's own time while it runs) and letting the work each one starts settle before the next.
   * Calls are queued: a second `advance` starts where the first ended.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to the next timer and fires it (and what it started settles); false when none is pending. */
  next(): Promise<boolean>;
  /** Yields real macrotask turns without moving time, so work already started can reach its next timer. */
  settle(): Promise<void>;
  /** Resolves after `ms` of fake time; rejects with the signal's reason as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Timers scheduled and neither fired nor cancelled. */
  pending(): number;
  /** When the next pending timer is due (epoch ms), or `undefined` when none is. */
  nextAt(): number | undefined;
}

interface FakeTimer {
  at: number;
  order: number;
  fn: () => void;
}

/** 2025-01-01T00:00:00.000Z: fixed, so timestamps in a test are the same on every run. */
const DEFAULT_START = Date.UTC(2025, 0, 1);

/**
 * A fake engine clock: pass it as `createTaskflow({ clock })` and drive retry backoff, step retries, task
 * timeouts and lease heartbeats with `advance(ms)` instead of waiting. Time stands still until advanced;
 * a timer already due (a zero delay) still fires on its own, on the next macrotask, as a real one would.
 * @example
 * const clock = createFakeClock();
 * const taskflow = await createTaskflow({ store: memoryStore(), clock });
 * const { taskId } = await taskflow.start(flaky, {});
 * await clock.advance(60_000); // the retry's backoff has passed: attempt 2 runs now
 * expect((await taskflow.get(taskId)).attempt).toBe(2);
 */
export function createFakeClock(
  start: number | Date = DEFAULT_START,
  options: FakeClockOptions = {},
): FakeClock {
  let now = typeof start === "number" ? start : start.getTime();
  if (!Number.isFinite(now)) throw new TypeError("createFakeClock: start must be a finite time.");
  const settleTurns = options.settleTurns ?? 20;
  const timers: FakeTimer[] = [];
  let order = 0;
  let drainScheduled = false;
  let queue: Promise<unknown> = Promise.resolve();

  const earliest = (limit: number): FakeTimer | undefined => {
    let best: FakeTimer | undefined;
    for (const timer of timers) {
      if (timer.at > limit) continue;
      if (!best || timer.at < best.at || (timer.at === best.at && timer.order < best.order)) best = timer;
    }
    return best;
  };
  const fire = (timer: FakeTimer) => {
    timers.splice(timers.indexOf(timer), 1);
    if (timer.at > now) now = timer.at;
    timer.fn();
  };
  const settle = async () => {
    for (let i = 0; i < settleTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  // A timer due now fires without an advance, as a real one would (never synchronously).
  const drainDue = () => {
    drainScheduled = false;
    for (let timer = earliest(now); timer; timer = earliest(now)) fire(timer);
  };
  // One clock movement at a time: `advance` and `next` run in call order.
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  const setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer: FakeTimer = { at: now + Math.max(0, Number.isFinite(ms) ? ms : 0), order: order++, fn };
    timers.push(timer);
    if (timer.at <= now && !drainScheduled) {
      drainScheduled = true;
      setImmediate(drainDue);
    }
    return () => {
      const index = timers.indexOf(timer);
      if (index >= 0) timers.splice(index, 1);
    };
  };

  return {
    now: () => now,
    setTimer,
    advance(ms) {
      if (!(Number.isFinite(ms) && ms >= 0))
        return Promise.reject(new RangeError(`advance(ms) needs a finite ms >= 0, got ${ms}.`));
      return serial(async () => {
        const target = now + ms;
        await settle();
        for (let timer = earliest(target); timer; timer = earliest(target)) {
          fire(timer);
          await settle();
        }
        if (target > now) now = target;
        await settle();
      });
    },
    next() {
      return serial(async () => {
        await settle();
        const timer = earliest(Number.POSITIVE_INFINITY);
        if (!timer) return false;
        fire(timer);
        await settle();
        return true;
      });
    },
    settle,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          cancel();
          reject(signal?.reason);
        };
        const cancel = setTimer(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    pending: () => timers.length,
    nextAt: () => earliest(Number.POSITIVE_INFINITY)?.at,
  };
}
