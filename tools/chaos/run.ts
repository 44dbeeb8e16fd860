/**
 * The chaos run (`npm run chaos -- --minutes N --store sqlite|postgres`): several Taskwire nodes on one
 * store, tasks with steps, children, signals and events started and followed over HTTP and SSE by
 * clients that drop and resume, nodes SIGKILLed and restarted at random; then every invariant checked.
 *
 *   npm run chaos -- --minutes 2 --store sqlite
 *   npm run chaos -- --minutes 10 --store postgres --nodes 3 --seed 42
 *
 * Options: --minutes (fractional ok, default 1), --store (default sqlite), --nodes (default 3), --seed
 * (default random), --lease-ms (default 1000), --lanes (tasks in flight, default 8), --pg-url (default
 * TASKWIRE_PG_URL or the local test server), --keep (keep the temp directory / schema), --quiet.
 * Prints a summary table; exits 1 on any violation (and keeps the evidence).
 */
import { parseArgs } from "node:util";
import { runChaos } from "./harness";
import type { ChaosStoreKind } from "./node-config";
import { formatSummary, formatViolations } from "./summary";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    store: { type: "string", default: "sqlite" },
    nodes: { type: "string", default: "3" },
    seed: { type: "string" },
    "lease-ms": { type: "string", default: "1000" },
    lanes: { type: "string", default: "8" },
    "pg-url": { type: "string" },
    keep: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});

const number = (name: string, value: string | undefined, min: number): number => {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min}`);
  return n;
};
function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run chaos -- --minutes N --store sqlite|postgres [--nodes 3] [--seed S]\n`,
  );
  process.exit(2);
}

const store = values.store as ChaosStoreKind;
if (store !== "sqlite" && store !== "postgres")
  usage(`--store must be sqlite or postgres, got ${values.store}`);
const started = new Date();
// Ctrl-C: the harness SIGKILLs the nodes (they would outlive it otherwise), then we exit.
const controller = new AbortController();
const interrupt = () => {
  process.stderr.write("[chaos] interrupted: killing the nodes\n");
  controller.abort();
  setTimeout(() => process.exit(130), 1500);
};
process.once("SIGINT", interrupt);
process.once("SIGTERM", interrupt);
const report = await runChaos({
  signal: controller.signal,
  minutes: number("minutes", values.minutes, 0.05),
  store,
  nodes: Math.floor(number("nodes", values.nodes, 2)),
  seed: values.seed === undefined ? undefined : Math.floor(number("seed", values.seed, 0)),
  leaseMs: number("lease-ms", values["lease-ms"], 100),
  driver: { lanes: Math.floor(number("lanes", values.lanes, 1)) },
  pgUrl: values["pg-url"],
  keep: values.keep,
  log: values.quiet ? undefined : (line) => process.stderr.write(`[chaos] ${line}\n`),
});
process.stdout.write(`\nTaskwire chaos run, ${started.toISOString()}\n${formatSummary(report)}\n`);
if (report.violations.length > 0) {
  process.stdout.write(`\n${formatViolations(report)}\n`);
  process.exit(1);
}
if (values.keep)
  process.stdout.write(`kept: ${report.dir}${report.schema ? `, schema ${report.schema}` : ""}\n`);
