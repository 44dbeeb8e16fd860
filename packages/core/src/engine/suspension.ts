import type { WakeOn } from "../store/task-store";

/** Why a run parks its task as `waiting`: the earliest due time and what else may wake it. */
export interface WaitRequest {
  /** Claimable again at this time (a timer or a signal timeout); `null` waits only for `wakeOn`. */
  runAt: number | null;
  wakeOn: Required<WakeOn>;
}

/** A promise that never settles: what a wait that cannot complete now hands back to the task body. */
const NEVER: Promise<never> = new Promise<never>(() => {});

/**
 * Collects the waits of one run. A wait that cannot complete now (a child still running, a timer not due,
 * no signal yet) returns a never-settling promise to the body and requests suspension: the task body
 * simply stops where it waits (a `try/catch` in user code cannot swallow it, unlike a thrown error). The
 * run settles `waiting` once every store operation started before the request has finished, so a
 * checkpoint or wake condition being recorded in parallel (`Promise.all` of several waits) is not lost.
 */
export class Suspension {
  #requested = false;
  #inFlight = 0;
  #runAt: number | null = null;
  #children = new Set<string>();
  #signals = new Map<string, { name: string; index: number }>();
  #onParked: ((request: WaitRequest) => void) | undefined;
  #parked = false;

  /**
   * Calls `onParked` once, with the wait, when suspension was requested and in-flight operations drained.
   * A callback rather than a promise made per run: most runs never wait, and a promise (and the race
   * against the body) per run is measurable on the hot path.
   */
  whenParked(onParked: (request: WaitRequest) => void): void {
    this.#onParked = onParked;
    this.#maybeDone();
  }

  /** Whether a wait has asked the run to suspend. */
  get requested(): boolean {
    return this.#requested;
  }

  /** Parks the body: records what wakes the task and returns a promise that never settles. */
  wait(on: { runAt?: number; child?: string; signal?: { name: string; index: number } }): Promise<never> {
    if (on.runAt !== undefined)
      this.#runAt = this.#runAt === null ? on.runAt : Math.min(this.#runAt, on.runAt);
    if (on.child !== undefined) this.#children.add(on.child);
    if (on.signal !== undefined) this.#signals.set(`${on.signal.name}#${on.signal.index}`, on.signal);
    this.#requested = true;
    this.#maybeDone();
    return NEVER;
  }

  /**
   * Tracks a store operation of the body (a checkpoint, a spawn, a status read) so suspension waits for
   * it. After suspension was requested, new operations are not started: the returned promise never settles.
   */
  track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#requested) return NEVER;
    this.#inFlight += 1;
    const done = () => {
      this.#inFlight -= 1;
      this.#maybeDone();
    };
    // Not an async function: one derived promise per checkpoint, not an async frame's several.
    return operation().then(
      (value) => {
        done();
        return value;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    );
  }

  #maybeDone(): void {
    if (!this.#requested || this.#inFlight > 0 || !this.#onParked || this.#parked) return;
    this.#parked = true;
    const resolve = this.#onParked;
    // A later tick: operations that finished in this tick may still request more waits (fan-in).
    setImmediate(() => {
      resolve({
        runAt: this.#runAt,
        wakeOn: { children: [...this.#children], signals: [...this.#signals.values()], cancel: true },
      });
    });
  }
}
