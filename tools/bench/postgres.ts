/**
 * Taskwire on PostgreSQL vs hand-written PostgreSQL and HTTP floors, measured in one run on a fresh
 * schema of one database (dropped afterwards):
 *
 *   node --conditions=@taskwire/source --import tsx tools/bench/postgres.ts [--json] [--repeats 3]
 *        [--duration 3000] [--steps 500] [--samples 200] [--pool 10] [--url postgres://…]
 *
 * 1. floor: a "3-step task" = three single-row INSERT commits on a held connection, at 1 and 10 concurrent
 *    starters (each its own connection from a pool of `--pool`) — vs Taskwire: no-op 3-step tasks on
 *    `postgresStore` (pool of the same size), `taskflow.start` + `subscribe` until `completed`, at 1 and
 *    10 concurrent starters, worker concurrency 16;
 * 2. one task of `--steps` sequential no-op `ctx.step` calls, each timed — vs one single-row INSERT commit;
 * 3. start → `completed` over SSE through an in-process `createTaskwireApp` (POST with
 *    `Accept: text/event-stream`, parsed with eventsource-parser) — vs `GET /ping` on the same server.
 * Warms up, then runs every measurement `--repeats` times (interleaved) and reports the medians.
 */
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { noop3 } from "./noop3";
import { createFloorTable, rawFloor, rawInsertLatency } from "./pg/raw";
import { httpFloor, sseLatency, startBenchServer } from "./pg/sse";
import { openTaskflow, taskwireStepLatency, taskwireThroughput } from "./pg/taskwire";
import { median } from "./stats";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    repeats: { type: "string", default: "3" },
    duration: { type: "string", default: "3000" },
    steps: { type: "string", default: "500" },
    samples: { type: "string", default: "200" },
    pool: { type: "string", default: "10" },
    url: {
      type: "string",
      default: process.env.TASKWIRE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
  },
});
const config = {
  repeats: Math.max(1, Number(args.repeats)),
  durationMs: Number(args.duration),
  steps: Number(args.steps),
  samples: Number(args.samples),
  pool: Number(args.pool),
  concurrency: [1, 10] as const,
};
/** Taskwire throughput at 10 concurrent starters must reach this share of the floor at 10. */
const THROUGHPUT_TARGET = 0.6;

interface Sample {
  floorC1: number;
  taskwireC1: number;
  floorC10: number;
  taskwireC10: number;
  insertP50Ms: number;
  insertP99Ms: number;
  stepP50Ms: number;
  stepP99Ms: number;
  httpP50Ms: number;
  httpP99Ms: number;
  sseP50Ms: number;
  sseP99Ms: number;
}

const log = (line: string) => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

const schema = `tw_bench_${randomBytes(4).toString("hex")}`;
const admin = new pg.Pool({ connectionString: args.url, max: config.pool });
admin.on("error", () => undefined);
await admin.query(`CREATE SCHEMA ${schema}`);
const samples: Sample[] = [];
let serverVersion = "";
try {
  serverVersion =
    (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "";
  const settings = await admin.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'commit_delay')",
  );
  await createFloorTable(admin, schema);
  const taskflow = await openTaskflow({ url: args.url, schema, poolSize: config.pool }, 16);
  taskflow.task(noop3);
  const server = await startBenchServer(taskflow);
  try {
    const measure = async (scale: number): Promise<Sample> => {
      const durationMs = Math.max(200, config.durationMs * scale);
      const n = (value: number) => Math.max(10, Math.round(value * scale));
      const floorC1 = await rawFloor(admin, schema, { concurrency: 1, durationMs });
      const taskwireC1 = await taskwireThroughput(taskflow, { starters: 1, durationMs });
      const floorC10 = await rawFloor(admin, schema, { concurrency: 10, durationMs });
      const taskwireC10 = await taskwireThroughput(taskflow, { starters: 10, durationMs });
      const insert = await rawInsertLatency(admin, schema, n(config.steps));
      const step = await taskwireStepLatency(taskflow, n(config.steps));
      const http = await httpFloor(server, n(config.samples));
      const sse = await sseLatency(server, n(config.samples));
      return {
        floorC1,
        taskwireC1,
        floorC10,
        taskwireC10,
        insertP50Ms: insert.p50Ms,
        insertP99Ms: insert.p99Ms,
        stepP50Ms: step.p50Ms,
        stepP99Ms: step.p99Ms,
        httpP50Ms: http.p50Ms,
        httpP99Ms: http.p99Ms,
        sseP50Ms: sse.p50Ms,
        sseP99Ms: sse.p99Ms,
      };
    };
    log(`PostgreSQL ${serverVersion} at ${args.url.replace(/\/\/[^@]*@/, "//…@")}, schema ${schema}`);
    log("warming up…");
    await measure(0.2);
    for (let r = 1; r <= config.repeats; r++) {
      log(`run ${r}/${config.repeats}…`);
      samples.push(await measure(1));
    }
    report(Object.fromEntries(settings.rows.map((s) => [s.name, s.setting])));
  } finally {
    await server.close();
    await taskflow.shutdown();
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await admin.end();
}

function report(pgSettings: Record<string, string>): void {
  const med = Object.fromEntries(
    (Object.keys(samples[0]!) as Array<keyof Sample>).map((key) => [key, median(samples.map((s) => s[key]))]),
  ) as unknown as Sample;
  const ratios = {
    taskwireVsFloorC1: med.taskwireC1 / med.floorC1,
    taskwireVsFloorC10: med.taskwireC10 / med.floorC10,
    stepP50VsInsertP50: med.stepP50Ms / med.insertP50Ms,
    sseP50VsHttpP50: med.sseP50Ms / med.httpP50Ms,
  };
  const met = ratios.taskwireVsFloorC10 >= THROUGHPUT_TARGET;
  const environment = {
    node: process.version,
    postgres: serverVersion,
    pgSettings,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
  };
  if (args.json) {
    const targets = { taskwireVsFloorC10: { target: THROUGHPUT_TARGET, met } };
    const out = { environment, config, median: med, ratios, targets, samples };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const int = (v: number) => Math.round(v).toLocaleString("en-US");
  const ms = (a: number, b: number) => `${a.toFixed(3)} / ${b.toFixed(3)} ms`;
  const rows: Array<[string, string, string]> = [
    ["floor: 3 INSERT commits per task, 1 starter", `${int(med.floorC1)} tasks/s`, "1.00 (baseline)"],
    [
      "Taskwire: 3-step no-op task, start → completed, 1 starter",
      `${int(med.taskwireC1)} tasks/s`,
      `${ratios.taskwireVsFloorC1.toFixed(2)} x floor`,
    ],
    ["floor: 3 INSERT commits per task, 10 starters", `${int(med.floorC10)} tasks/s`, "1.00 (baseline)"],
    [
      "Taskwire: 3-step no-op task, start → completed, 10 starters",
      `${int(med.taskwireC10)} tasks/s`,
      `${ratios.taskwireVsFloorC10.toFixed(2)} x floor (target >= ${THROUGHPUT_TARGET}) ${met ? "MET" : "NOT MET"}`,
    ],
    ["raw: one INSERT commit, p50 / p99", ms(med.insertP50Ms, med.insertP99Ms), "1.00 (baseline)"],
    [
      `Taskwire: one ctx.step (of ${config.steps} in a row), p50 / p99`,
      ms(med.stepP50Ms, med.stepP99Ms),
      `p50 = ${ratios.stepP50VsInsertP50.toFixed(2)} x INSERT p50`,
    ],
    ["HTTP: GET /ping round trip, p50 / p99", ms(med.httpP50Ms, med.httpP99Ms), "1.00 (baseline)"],
    [
      "Taskwire: POST start → completed over SSE, p50 / p99",
      ms(med.sseP50Ms, med.sseP99Ms),
      `p50 = ${ratios.sseP50VsHttpP50.toFixed(2)} x GET p50`,
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const settings = Object.entries(pgSettings)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  log("");
  log(
    `node ${environment.node}, ${environment.cpus} CPUs (${environment.cpuModel}), PostgreSQL ${serverVersion}`,
  );
  log(
    `${settings}; pool ${config.pool}; ${config.durationMs} ms per throughput run; median of ${config.repeats}`,
  );
  log("");
  log(`${"measurement".padEnd(w0)}  ${"value".padStart(w1)}  ratio`);
  log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  ${"-".repeat(44)}`);
  for (const [label, value, ratio] of rows) log(`${label.padEnd(w0)}  ${value.padStart(w1)}  ${ratio}`);
}
