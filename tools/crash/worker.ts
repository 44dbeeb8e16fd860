/**
 * Crash-harness child. Runs one life of a workload on a SQLite file and reports points of interest to the
 * parent, one JSON line each, on file descriptor 3 (see `instrument.ts`):
 *
 *   node --conditions=@taskwire/source --import tsx tools/crash/worker.ts '<LifeConfig as JSON>'
 *
 * Workloads (`LifeConfig.workload`): `pipeline` starts (or attaches to) the 6-step task and follows it to
 * its terminal event; `flow`/`waves` do the same with the flow parent (`flow-tasks.ts`), whose children
 * run in this process too; `signal` runs no worker at all and delivers the flow's signal once.
 * `killAt` names the kill point of this life; with style `freeze` the child stops dead there until the
 * parent's SIGKILL arrives, with `run` it keeps going and the parent kills it after a random delay.
 */
import { appendFileSync } from "node:fs";
import { createTaskflow, type Taskflow } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { flowTasks, SIGNAL_NAME } from "./flow-tasks";
import { createReporter, instrument } from "./instrument";
import { pipelineTask } from "./pipeline-task";
import { CRASH_IDEMPOTENCY_KEY, CRASH_LEASE_MS, CRASH_POLL_MS, type LifeConfig } from "./protocol";

const config = parseConfig(process.argv[2]);
const reporter = createReporter(config.killAt, config.style);
const store = instrument(sqliteStore({ path: config.dbPath, pollIntervalMs: CRASH_POLL_MS }), reporter);
const taskflow = await createTaskflow({
  store,
  logger: pino({ level: "warn" }, pino.destination(2)),
  leaseMs: CRASH_LEASE_MS,
  pollIntervalMs: CRASH_POLL_MS,
  worker: config.workload !== "signal",
});
const hooks = {
  count: (stepKey: string) => appendFileSync(config.countsFile, `${stepKey}\n`),
  point: (name: string) => reporter.point(name),
  enter: (taskId: string, label: string) => reporter.label(taskId, label),
};

if (config.workload === "signal") await deliver(taskflow);
else await follow(taskflow);
process.exit(0);

/** Starts (or attaches to) the workload's task and follows it to its terminal event. */
async function follow(taskflow: Taskflow): Promise<void> {
  const key = { idempotencyKey: CRASH_IDEMPOTENCY_KEY };
  let started: { taskId: string; created: boolean };
  if (config.workload === "pipeline") {
    started = await taskflow.start(taskflow.task(pipelineTask(hooks)), { seed: config.seed }, key);
  } else {
    const { parent, child } = flowTasks(hooks);
    taskflow.task(child);
    const input = { seed: config.seed, width: config.width ?? 1, signal: config.workload === "flow" };
    started = await taskflow.start(taskflow.task(parent), input, key);
  }
  reporter.report({ type: "started", ...started, mode: config.mode });
  let terminal = "";
  for await (const event of taskflow.subscribe(started.taskId)) terminal = event.name;
  await taskflow.shutdown();
  reporter.report({ type: "terminal", name: terminal });
}

/** Delivers the signal once (no worker runs here: the flow's tasks are registered for validation only). */
async function deliver(taskflow: Taskflow): Promise<void> {
  const spec = config.signal;
  if (!spec) throw new Error("the signal workload needs `signal`");
  const { parent, child } = flowTasks(hooks);
  taskflow.task(child);
  taskflow.task(parent);
  const { index, duplicate } = await taskflow.signal(
    spec.taskId,
    SIGNAL_NAME,
    { token: spec.token },
    { idempotencyKey: spec.idempotencyKey },
  );
  await taskflow.shutdown();
  reporter.report({ type: "signalled", index, duplicate });
}

function parseConfig(arg: string | undefined): LifeConfig {
  const parsed = arg === undefined ? undefined : (JSON.parse(arg) as Partial<LifeConfig>);
  if (!parsed?.workload || !parsed.dbPath || !parsed.countsFile || !parsed.killAt || !parsed.style) {
    process.stderr.write("usage: worker.ts '<LifeConfig JSON: see protocol.ts>'\n");
    process.exit(64);
  }
  return parsed as LifeConfig;
}
