/** Crash-run settings from the environment, shared by the vitest suite and `run.ts`. */
export interface CrashSettings {
  /** Number of randomized runs of the pipeline task (`CRASH_RUNS`, default 20). */
  runs: number;
  /** Number of randomized flow runs (`CRASH_FLOW_RUNS`, default `runs / 6`, rounded, at least 1). */
  flowRuns: number;
  /** Seed of run 0; run i uses `seed + i` (`CRASH_SEED`, default random and printed). */
  seed: number;
  /** Runs in flight at once (`CRASH_CONCURRENCY`, default 2: one per core). */
  concurrency: number;
}

/** Reads {@link CrashSettings}; a run is reproduced with `CRASH_SEED=<its seed> CRASH_RUNS=1`. */
export function crashSettings(env: NodeJS.ProcessEnv = process.env): CrashSettings {
  const int = (value: string | undefined, fallback: number) => {
    const n = Number(value);
    return value !== undefined && value !== "" && Number.isSafeInteger(n) && n >= 0 ? n : fallback;
  };
  const runs = Math.max(1, int(env.CRASH_RUNS, 20));
  return {
    runs,
    flowRuns: int(env.CRASH_FLOW_RUNS, Math.max(1, Math.round(runs / 6))),
    seed: int(env.CRASH_SEED, Math.floor(Math.random() * 2 ** 31)) >>> 0,
    concurrency: Math.max(1, int(env.CRASH_CONCURRENCY, 2)),
  };
}

/** Seed of run `i`. */
export const runSeed = (settings: CrashSettings, i: number): number => (settings.seed + i) >>> 0;

/** Runs `fn` with at most `limit` calls in flight. */
export function createLimiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await fn();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}
