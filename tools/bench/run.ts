/**
 * Taskwire vs raw SQLite, measured in one run on a SQLite file in a temp dir with the store's shipped
 * durability (WAL, synchronous = NORMAL):
 *
 *   npm run bench:sqlite [-- --json] [--tasks 5000] [--steps 2000] [--commits 20000] [--repeats 3]
 *                 [--concurrency 16] [--starters 64] [--batch 100] [--children 100] [--spawns 100]
 *
 * Warms up, runs every measurement `--repeats` times (interleaved, each on a fresh file) and reports the
 * medians. See tools/README.md for what each line means.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { fanOutThroughput, spawnResultLatency } from "./flows";
import { metricsThroughput, tracingThroughput } from "./observe";
import { rawCommits, rawFloor, SHIPPED_PRAGMAS } from "./raw-sqlite";
import { median } from "./stats";
import { type ThroughputOptions, taskwireStepLatency, taskwireThroughput } from "./taskwire";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    tasks: { type: "string", default: "5000" },
    steps: { type: "string", default: "2000" },
    commits: { type: "string", default: "20000" },
    repeats: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    starters: { type: "string", default: "64" },
    batch: { type: "string", default: "100" },
    children: { type: "string", default: "100" },
    spawns: { type: "string", default: "100" },
  },
});
const config = {
  tasks: Number(args.tasks),
  steps: Number(args.steps),
  commits: Number(args.commits),
  repeats: Math.max(1, Number(args.repeats)),
  concurrency: Number(args.concurrency),
  starters: Number(args.starters),
  batch: Number(args.batch),
  children: Number(args.children),
  spawns: Number(args.spawns),
};
/** Taskwire throughput must reach this share of the 3-commits-per-task floor. */
const THROUGHPUT_TARGET = 0.75;
/** Per-step p50 target, ms. */
const STEP_P50_TARGET_MS = 0.2;

interface Sample {
  commitsPerSec: number;
  commitP50Ms: number;
  commitP99Ms: number;
  floorTasksPerSec: number;
  batchedTasksPerSec: number;
  taskwireTasksPerSec: number;
  metricsTasksPerSec: number;
  tracingTasksPerSec: number;
  /** Paired with the run without, in the same repeat: load drifting between repeats cancels out. */
  metricsVsOff: number;
  tracingVsOff: number;
  stepP50Ms: number;
  stepP99Ms: number;
  stepsPerSec: number;
  fanOutChildrenPerSec: number;
  spawnP50Ms: number;
  spawnP99Ms: number;
}

/**
 * The three throughput variants (off, metrics, tracing) in an order rotated by `repeat`: a variant that
 * always ran first (or last) would carry a position bias (warm-up, file-system state) into its ratio.
 */
async function throughputs(dir: string, options: ThroughputOptions, repeat: number) {
  const variants = [
    () => taskwireThroughput(dir, options),
    () => metricsThroughput(dir, options),
    () => tracingThroughput(dir, options),
  ];
  const out: number[] = [0, 0, 0];
  for (let k = 0; k < variants.length; k++) {
    const index = (k + repeat) % variants.length;
    out[index] = await (variants[index] as () => Promise<number>)();
  }
  const [off = 0, metrics = 0, tracing = 0] = out;
  return { off, metrics, tracing };
}

async function measure(scale: number, repeat = 0): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "taskwire-bench-"));
  try {
    const n = (value: number) => Math.max(10, Math.round(value * scale));
    const commits = rawCommits(dir, n(config.commits));
    const floorTasksPerSec = rawFloor(dir, n(config.tasks));
    const batchedTasksPerSec = rawFloor(dir, n(config.tasks), config.batch);
    const throughput = { tasks: n(config.tasks), concurrency: config.concurrency, starters: config.starters };
    const observed = await throughputs(dir, throughput, repeat);
    const taskwireTasksPerSec = observed.off;
    const steps = await taskwireStepLatency(dir, n(config.steps));
    const fanOutChildrenPerSec = await fanOutThroughput(dir, n(config.children));
    const spawns = await spawnResultLatency(dir, n(config.spawns));
    return {
      commitsPerSec: commits.commitsPerSec,
      commitP50Ms: commits.p50Ms,
      commitP99Ms: commits.p99Ms,
      floorTasksPerSec,
      batchedTasksPerSec,
      taskwireTasksPerSec,
      metricsTasksPerSec: observed.metrics,
      tracingTasksPerSec: observed.tracing,
      metricsVsOff: observed.metrics / observed.off,
      tracingVsOff: observed.tracing / observed.off,
      stepP50Ms: steps.p50Ms,
      stepP99Ms: steps.p99Ms,
      stepsPerSec: steps.stepsPerSec,
      fanOutChildrenPerSec,
      spawnP50Ms: spawns.p50Ms,
      spawnP99Ms: spawns.p99Ms,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const log = (line: string) => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

log("warming up…");
await measure(0.2);
const samples: Sample[] = [];
for (let r = 1; r <= config.repeats; r++) {
  log(`run ${r}/${config.repeats}…`);
  samples.push(await measure(1, r));
}
const med = Object.fromEntries(
  (Object.keys(samples[0]!) as Array<keyof Sample>).map((key) => [key, median(samples.map((s) => s[key]))]),
) as unknown as Sample;

const throughputRatio = med.taskwireTasksPerSec / med.floorTasksPerSec;
const sqliteVersion = (() => {
  const db = new Database(":memory:");
  const version = db.prepare("SELECT sqlite_version()").pluck().get() as string;
  db.close();
  return version;
})();
const environment = {
  node: process.version,
  sqlite: sqliteVersion,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  pragmas: SHIPPED_PRAGMAS,
  tmpdir: tmpdir(),
};

if (args.json) {
  const ratios = {
    throughputVsFloor: throughputRatio,
    floorVsRawCommits: (med.floorTasksPerSec * 3) / med.commitsPerSec,
    batchedVsFloor: med.batchedTasksPerSec / med.floorTasksPerSec,
    stepP50VsCommitP50: med.stepP50Ms / med.commitP50Ms,
    fanOutChildrenVsFloorTasks: med.fanOutChildrenPerSec / med.floorTasksPerSec,
    spawnP50VsCommitP50: med.spawnP50Ms / med.commitP50Ms,
    metricsVsOff: med.metricsVsOff,
    tracingVsOff: med.tracingVsOff,
  };
  const targets = {
    throughputVsFloor: { target: THROUGHPUT_TARGET, met: throughputRatio >= THROUGHPUT_TARGET },
    stepP50Ms: { target: STEP_P50_TARGET_MS, met: med.stepP50Ms <= STEP_P50_TARGET_MS },
  };
  process.stdout.write(
    `${JSON.stringify({ environment, config, median: med, ratios, targets, samples }, null, 2)}\n`,
  );
} else {
  const int = (v: number) => Math.round(v).toLocaleString("en-US");
  const ms = (v: number) => v.toFixed(3);
  const rows: Array<[string, string, string]> = [
    ["raw SQLite: 1-row INSERT per transaction", `${int(med.commitsPerSec)} commits/s`, ""],
    [
      "floor: 3-step task = 3 single-row transactions",
      `${int(med.floorTasksPerSec)} tasks/s`,
      "1.00 (baseline)",
    ],
    [
      `floor, batched: ${config.batch} tasks per transaction`,
      `${int(med.batchedTasksPerSec)} tasks/s`,
      `${(med.batchedTasksPerSec / med.floorTasksPerSec).toFixed(2)} x floor (context)`,
    ],
    [
      `Taskwire: no-op 3-step tasks (n=${config.tasks}, c=${config.concurrency})`,
      `${int(med.taskwireTasksPerSec)} tasks/s`,
      `${throughputRatio.toFixed(2)} x floor (target >= ${THROUGHPUT_TARGET}) ${throughputRatio >= THROUGHPUT_TARGET ? "MET" : "NOT MET"}`,
    ],
    [
      "Taskwire: the same with metrics (prometheusMetrics)",
      `${int(med.metricsTasksPerSec)} tasks/s`,
      `${med.metricsVsOff.toFixed(2)} x without (median of paired runs)`,
    ],
    [
      "Taskwire: the same with tracing (OTel SDK, batch, dropped)",
      `${int(med.tracingTasksPerSec)} tasks/s`,
      `${med.tracingVsOff.toFixed(2)} x without (median of paired runs)`,
    ],
    [
      `Taskwire: per-step latency p50 / p99 (${config.steps} steps)`,
      `${ms(med.stepP50Ms)} / ${ms(med.stepP99Ms)} ms`,
      `p50 target <= ${STEP_P50_TARGET_MS} ms ${med.stepP50Ms <= STEP_P50_TARGET_MS ? "MET" : "NOT MET"}`,
    ],
    [
      "raw SQLite: single commit latency p50 / p99",
      `${ms(med.commitP50Ms)} / ${ms(med.commitP99Ms)} ms`,
      `step p50 = ${(med.stepP50Ms / med.commitP50Ms).toFixed(1)} x commit p50`,
    ],
    [
      `Taskwire: ${config.children}-child fan-out + join (3-step children)`,
      `${int(med.fanOutChildrenPerSec)} children/s`,
      `${(med.fanOutChildrenPerSec / med.floorTasksPerSec).toFixed(2)} x floor tasks/s`,
    ],
    [
      `Taskwire: spawn + result of one child, p50 / p99 (${config.spawns} in a row)`,
      `${ms(med.spawnP50Ms)} / ${ms(med.spawnP99Ms)} ms`,
      `p50 = ${(med.spawnP50Ms / med.commitP50Ms).toFixed(1)} x commit p50`,
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  log("");
  log(
    `SQLite ${environment.sqlite} file in ${environment.tmpdir}, ${SHIPPED_PRAGMAS.join(", ")} (as @taskwire/sqlite ships)`,
  );
  log(
    `node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}); median of ${config.repeats} runs`,
  );
  log("");
  log(`${"measurement".padEnd(w0)}  ${"value".padStart(w1)}  ratio`);
  log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  ${"-".repeat(40)}`);
  for (const [label, value, ratio] of rows) log(`${label.padEnd(w0)}  ${value.padStart(w1)}  ${ratio}`);
}
