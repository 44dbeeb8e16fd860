import type { Logger } from "pino";
import type { Clock } from "../clock/clock";
import type { TaskStore } from "../store/task-store";

/** 7 days: how long finished tasks are kept unless `retentionMs` says otherwise. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Retention settings, validated (see `TaskflowOptions`). */
export interface RetentionSettings {
  /** `undefined`: retention is off (`retentionMs: false`); erasure still uses `batchSize`. */
  retentionMs: number | undefined;
  intervalMs: number;
  batchSize: number;
}

/** The first sweep comes within this long of the start (jittered), so a short-lived process sweeps too. */
const FIRST_SWEEP_WITHIN_MS = 5_000;

/**
 * Validates the retention options. Throws a `TypeError` for a value that is not a positive finite number
 * (an integer for the batch size): `retentionMs: 0` would delete every task the moment it finishes, so
 * turning retention off is spelled `false`, never 0.
 */
export function retentionSettings(options: {
  retentionMs?: number | false;
  retentionIntervalMs?: number;
  retentionBatchSize?: number;
}): RetentionSettings {
  const settings = {
    retentionMs: options.retentionMs === false ? undefined : (options.retentionMs ?? DEFAULT_RETENTION_MS),
    intervalMs: options.retentionIntervalMs ?? 60_000,
    batchSize: options.retentionBatchSize ?? 500,
  };
  const check = (name: string, value: number, integer = false) => {
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      const hint = name === "retentionMs" ? " (retentionMs: false turns retention off)" : "";
      throw new TypeError(
        `createTaskflow: ${name} must be a positive ${integer ? "integer" : "number of milliseconds"}, got ${value}${hint}.`,
      );
    }
  };
  if (settings.retentionMs !== undefined) check("retentionMs", settings.retentionMs);
  check("retentionIntervalMs", settings.intervalMs);
  check("retentionBatchSize", settings.batchSize, true);
  return settings;
}

/** `delayMs` spread by ±25 %, so nodes started together do not sweep in lockstep. */
function jittered(delayMs: number, random: () => number): number {
  return Math.round(delayMs * (0.75 + random() * 0.5));
}

/** Yields one macrotask: a long sweep lets other work (and the store's other writers) in between batches. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Deletes finished task trees older than `retentionMs`, on the engine clock: one sweep soon after `start()`
 * and then every `intervalMs` (±25 %). A sweep calls `store.purgeTasks` batch after batch until one deletes
 * fewer than the batch size (a multi-node store answers 0 on every node but the one purging). A failing
 * sweep is logged and retried at the next interval; nothing is thrown out of the timer.
 */
export class RetentionSweeper {
  readonly #store: TaskStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #settings: RetentionSettings & { retentionMs: number };
  readonly #random: () => number;
  #cancelTimer: (() => void) | undefined;
  #sweeping: Promise<void> | undefined;
  #stopped = false;

  constructor(
    deps: { store: TaskStore; clock: Clock; logger: Logger },
    settings: RetentionSettings & { retentionMs: number },
    random: () => number = Math.random,
  ) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#settings = settings;
    this.#random = random;
  }

  /** Schedules the first sweep (within 5 s, or within the interval if shorter). */
  start(): void {
    const first = Math.min(this.#settings.intervalMs, FIRST_SWEEP_WITHIN_MS);
    this.#schedule(Math.round(first * (0.5 + this.#random() * 0.5)));
  }

  /** Cancels the timer and waits for a sweep in progress to end (it stops after its current batch). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    await this.#sweeping;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#cancelTimer = this.#clock.setTimer(() => {
      this.#sweeping = this.#sweep().finally(() => {
        this.#sweeping = undefined;
        this.#schedule(jittered(this.#settings.intervalMs, this.#random));
      });
    }, delayMs);
  }

  async #sweep(): Promise<void> {
    const started = performance.now();
    const { batchSize, retentionMs } = this.#settings;
    const finishedBefore = this.#clock.now() - retentionMs;
    let deleted = 0;
    let batches = 0;
    try {
      while (!this.#stopped) {
        const batchStarted = performance.now();
        const count = await this.#store.purgeTasks({ finishedBefore, limit: batchSize });
        batches += 1;
        deleted += count;
        if (count > 0) {
          this.#logger.debug(
            { event: "retention.batch_deleted", deleted: count, durationMs: elapsed(batchStarted) },
            "finished tasks deleted",
          );
        }
        if (count < batchSize) break;
        await nextTurn();
      }
      const summary = { event: "retention.sweep_completed", deleted, batches, durationMs: elapsed(started) };
      if (deleted > 0) this.#logger.info(summary, "retention sweep completed");
      else this.#logger.debug(summary, "retention sweep completed");
    } catch (error) {
      this.#logger.warn(
        { event: "retention.sweep_failed", deleted, batches, err: error },
        "retention sweep failed; retrying at the next interval",
      );
    }
  }
}

/**
 * Erases every task of `owner` batch after batch until none is left; resolves to how many were deleted.
 * Logs `task.owner_erased` with the count, never the owner id (a user id).
 */
export async function eraseOwner(
  deps: { store: TaskStore; logger: Logger },
  owner: string,
  batchSize: number,
): Promise<number> {
  const started = performance.now();
  let deleted = 0;
  for (;;) {
    const count = await deps.store.deleteTasksOfOwner(owner, batchSize);
    deleted += count;
    if (count === 0) break;
    await nextTurn();
  }
  deps.logger.info(
    { event: "task.owner_erased", deleted, durationMs: elapsed(started) },
    "every task of one owner deleted",
  );
  return deleted;
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
