import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../bundled-script";

/** Every section, in run order (`--only` takes a comma list of these). */
export const SECTION_NAMES = [
  "sqlite",
  "observe",
  "steps",
  "postgres",
  "sse-latency",
  "sse",
  "replay",
  "wakeup",
  "recovery",
  "flows",
] as const;

/** A section's name. */
export type SectionName = (typeof SECTION_NAMES)[number];

/** Sizes and switches of one run of the suite. */
export interface BenchConfig {
  sections: SectionName[];
  repeats: number;
  /** Tiny sizes, one repeat, no warm-up: the smoke test's mode. */
  quick: boolean;
  /** Where the JSON goes. */
  out: string;
  pgUrl: string;
  /** Length of one throughput measurement (floors and Taskwire alike), ms. */
  durationMs: number;
  /** Worker concurrency of the Taskwire throughput runs (the engine default). */
  concurrency: number;
  /** Concurrent starters of the "10+ starters" runs (SQLite and PostgreSQL). */
  starters: number;
  /** Pool size of the PostgreSQL store and of the floor's starters. */
  pgPool: number;
  /** Sequential steps of the step-latency task (SQLite; PostgreSQL runs a quarter as many). */
  steps: number;
  /** Samples of each latency measurement (SSE start → completed, HTTP GET, wake-up, NOTIFY). */
  samples: number;
  /** Events of the small and the large replay (the large one is also the one-client events/s run). */
  replayEvents: [number, number];
  /** Concurrent SSE streams, and events per stream. */
  streams: number;
  eventsPerStream: number;
  /** Lease of the recovery scenario, ms (the engine default is 30 s; a bench cannot wait that long). */
  recoveryLeaseMs: number;
  /** Spawn + result samples, and children of the fan-out. */
  spawns: number;
  children: number;
}

const FULL_SIZES = {
  durationMs: 1500,
  steps: 2000,
  samples: 200,
  replayEvents: [1000, 10_000] as [number, number],
  streams: 1000,
  eventsPerStream: 10,
  recoveryLeaseMs: 1000,
  spawns: 100,
  children: 100,
};

const QUICK_SIZES: typeof FULL_SIZES = {
  durationMs: 150,
  steps: 40,
  samples: 10,
  replayEvents: [100, 500],
  streams: 40,
  eventsPerStream: 10,
  recoveryLeaseMs: 300,
  spawns: 5,
  children: 10,
};

/** Parses the command line (`--only`, `--repeats`, `--quick`, `--out`, `--duration`, `--url`). */
export function parseConfig(argv: string[]): BenchConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      repeats: { type: "string" },
      quick: { type: "boolean", default: false },
      out: { type: "string", default: join(REPO_ROOT, "tools", "bench", "results", "latest.json") },
      duration: { type: "string" },
      starters: { type: "string", default: "16" },
      url: {
        type: "string",
        default: process.env.TASKWIRE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
      },
    },
  });
  const sections = values.only ? values.only.split(",").map((s) => s.trim()) : [...SECTION_NAMES].map(String);
  for (const name of sections) {
    if (!(SECTION_NAMES as readonly string[]).includes(name))
      throw new Error(`unknown section "${name}"; sections: ${SECTION_NAMES.join(", ")}`);
  }
  const sizes = values.quick ? QUICK_SIZES : FULL_SIZES;
  return {
    ...sizes,
    sections: SECTION_NAMES.filter((name) => sections.includes(name)),
    repeats: Math.max(1, Number(values.repeats ?? (values.quick ? 1 : 3))),
    quick: values.quick,
    out: values.out,
    pgUrl: values.url,
    durationMs: values.duration ? Number(values.duration) : sizes.durationMs,
    concurrency: 16,
    starters: Number(values.starters),
    pgPool: 10,
  };
}
