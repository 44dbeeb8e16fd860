/** Small statistics helpers for the benchmark. */

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0-100, nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Nanosecond bigint durations to milliseconds. */
export const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

/** A rate: `count` operations in `ms` milliseconds, per second. */
export const perSecond = (count: number, ms: number): number => (count * 1000) / ms;

/** Latency of a sample: its p50 and p99 in milliseconds. */
export interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** The p50 and p99 of `times` (milliseconds). */
export function latency(times: readonly number[]): Latency {
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/** Runs `fn` `samples` times one after another, timing each call to its settled promise. */
export async function timeEach(samples: number, fn: (i: number) => Promise<unknown>): Promise<Latency> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const before = process.hrtime.bigint();
    await fn(i);
    times.push(nsToMs(process.hrtime.bigint() - before));
  }
  return latency(times);
}

/** The per-key medians of `samples` (records with the same numeric keys). */
export function medians<K extends string>(samples: ReadonlyArray<Record<K, number>>): Record<K, number> {
  const first = samples[0];
  if (!first) throw new Error("no samples");
  return Object.fromEntries(
    (Object.keys(first) as K[]).map((key) => [key, median(samples.map((s) => s[key]))]),
  ) as Record<K, number>;
}
