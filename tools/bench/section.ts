import type { BenchConfig, SectionName } from "./config";
import type { Row } from "./report";
import { medians } from "./stats";

/** What a section gets: the run's config, a temp dir of its own and a progress logger. */
export interface SectionContext {
  config: BenchConfig;
  /** A fresh temp directory, removed after the section. */
  dir: string;
  log(line: string): void;
}

/** What a section hands back: its rows, its per-repeat samples and anything else worth keeping. */
export interface SectionResult {
  rows: Row[];
  samples: Array<Record<string, number>>;
  details?: Record<string, unknown>;
}

/** One scenario file of the suite. */
export interface Section {
  name: SectionName;
  run(ctx: SectionContext): Promise<SectionResult>;
}

/**
 * Runs `measure` once as a warm-up (scale 0.2, skipped in quick mode) and then `repeats` times at full
 * scale, and returns the per-key medians. Each `measure` call runs our side and the limit side of every
 * pair back to back, so the repeats interleave them and a load change on the shared machine hits both.
 */
export async function repeatMedians<K extends string>(
  ctx: SectionContext,
  measure: (scale: number, repeat: number) => Promise<Record<K, number>>,
): Promise<{ median: Record<K, number>; samples: Array<Record<K, number>> }> {
  if (!ctx.config.quick) await measure(0.2, 0);
  const samples: Array<Record<K, number>> = [];
  for (let r = 1; r <= ctx.config.repeats; r++) {
    ctx.log(`  repeat ${r}/${ctx.config.repeats}`);
    samples.push(await measure(1, r));
  }
  return { median: medians(samples), samples };
}

/** `value × scale`, at least `min`, rounded: sizes of a warm-up. */
export const scaled = (value: number, scale: number, min = 5): number =>
  Math.max(min, Math.round(value * scale));
