/**
 * Crash-harness child. Runs the pipeline task on a SQLite file and reports points of interest to the
 * parent, one JSON line each, on file descriptor 3 (written synchronously, so a line is out before the
 * next instruction runs — the parent may SIGKILL us right after reading it).
 *
 *   node --conditions=@taskwire/source --import tsx tools/crash/worker.ts \
 *     <dbPath> <countsFile> <start|resume> <seed> <killAt> <freeze|run>
 *
 * `killAt` names the kill point of this process's life: `any:7` is the 7th point of any kind,
 * `body:2` the 2nd point of kind `body` (kinds: see `POINT_KINDS`), `none` is no kill point. With `freeze` the
 * child stops dead there (blocks its only thread) until the parent's SIGKILL arrives, so the kill lands
 * exactly at that point; with `run` it keeps going and the parent kills after a random delay, so the kill
 * lands anywhere after it (mid-commit included).
 */
import { appendFileSync, writeSync } from "node:fs";
import { createTaskflow, type TaskStore } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { pipelineTask } from "./pipeline-task";
import {
  CRASH_IDEMPOTENCY_KEY,
  CRASH_LEASE_MS,
  CRASH_POLL_MS,
  REPORT_FD,
  type WorkerMessage,
} from "./protocol";

const [dbPath, countsFile, mode, seedArg, killAtArg, style] = process.argv.slice(2);
if (!dbPath || !countsFile || (mode !== "start" && mode !== "resume")) {
  process.stderr.write(
    "usage: worker.ts <dbPath> <countsFile> <start|resume> <seed> <killAt> <freeze|run>\n",
  );
  process.exit(64);
}
const seed = Number(seedArg ?? 0);
const [killKind = "none", killNth = "0"] = (killAtArg ?? "none").split(":");
const killAt = Number(killNth);

function report(message: WorkerMessage): void {
  writeSync(REPORT_FD, `${JSON.stringify(message)}\n`);
}

let points = 0;
const perKind = new Map<string, number>();
function point(name: string): void {
  points += 1;
  const kind = name.slice(0, name.indexOf(":"));
  const nth = (perKind.get(kind) ?? 0) + 1;
  perKind.set(kind, nth);
  const kill = killKind === "any" ? points === killAt : killKind === kind && nth === killAt;
  report({ type: "point", n: points, name, kill });
  if (kill && style === "freeze") {
    // Freeze the whole process here: no timer, heartbeat or queued commit runs before the SIGKILL.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
    process.exit(70); // the parent never killed us: fail loudly rather than continue past the point
  }
}

/**
 * Wraps the store so WAL writes (checkpoints, events, the settlement) are points of interest: just before
 * the call, and just after it resolved (durable).
 */
function instrument(inner: TaskStore): TaskStore {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "appendStep") {
        const appendStep: TaskStore["appendStep"] = async (lease, record) => {
          point(`step-append:${record.key}`);
          await target.appendStep(lease, record);
          point(`step-committed:${record.key}`);
        };
        return appendStep;
      }
      if (prop === "appendEvent") {
        const appendEvent: TaskStore["appendEvent"] = async (lease, record) => {
          point(`event-append:${record.position + 1}`);
          const seq = await target.appendEvent(lease, record);
          point(`event-committed:${record.position + 1}`);
          return seq;
        };
        return appendEvent;
      }
      if (prop === "settleTask") {
        const settleTask: TaskStore["settleTask"] = async (lease, settlement, now) => {
          point(`settle:${settlement.status}`);
          await target.settleTask(lease, settlement, now);
          point(`settled:${settlement.status}`);
        };
        return settleTask;
      }
      const value = Reflect.get(target, prop, target);
      // The store keeps #private state: its methods must run with the real store as `this`.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const store = instrument(sqliteStore({ path: dbPath, pollIntervalMs: 20 }));
const taskflow = await createTaskflow({
  store,
  logger: pino({ level: "warn" }, pino.destination(2)),
  leaseMs: CRASH_LEASE_MS,
  pollIntervalMs: CRASH_POLL_MS,
});
const ref = taskflow.task(
  pipelineTask({
    count: (stepKey) => appendFileSync(countsFile, `${stepKey}\n`),
    point,
  }),
);
const { taskId, created } = await taskflow.start(ref, { seed }, { idempotencyKey: CRASH_IDEMPOTENCY_KEY });
report({ type: "started", taskId, created, mode });
let terminal = "";
for await (const event of taskflow.subscribe(taskId)) terminal = event.name;
await taskflow.shutdown();
report({ type: "terminal", name: terminal });
process.exit(0);
