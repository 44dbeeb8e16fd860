import { join } from "node:path";
import { createTaskflow, defineTask, type TaskflowOptions, type TaskStore } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { pino } from "pino";
import { z } from "zod";
import { noop3 } from "./noop3";
import { nsToMs, percentile, perSecond } from "./stats";

const silent = pino({ level: "silent" });

/**
 * Calls `onCompleted` after each durable `completed` settlement (the store call resolved). A plain object
 * with the store's methods bound once, not a Proxy: a Proxy trap plus a fresh bound function on every
 * store call is harness cost (~7 calls per task) that the engine would be charged for.
 */
function countingStore(inner: TaskStore, onCompleted: () => void): TaskStore {
  const store: Record<string, unknown> = { kind: inner.kind };
  for (let proto = Object.getPrototypeOf(inner); proto && proto !== Object.prototype; ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = (inner as unknown as Record<string, unknown>)[key];
      if (key !== "constructor" && !(key in store) && typeof value === "function")
        store[key] = value.bind(inner);
    }
    proto = Object.getPrototypeOf(proto);
  }
  const settleTask: TaskStore["settleTask"] = async (lease, settlement, now) => {
    await inner.settleTask(lease, settlement, now);
    if (settlement.status === "completed") onCompleted();
  };
  store.settleTask = settleTask;
  return store as unknown as TaskStore;
}

/** Settings of the end-to-end throughput measurement. */
export interface ThroughputOptions {
  tasks: number;
  /** Worker concurrency (tasks run at once). */
  concurrency: number;
  /** Concurrent callers issuing `taskflow.start` (like that many HTTP requests in flight). */
  starters: number;
  /** Extra taskflow options (metrics, tracing) of a variant; its database file is named after `variant`. */
  variant?: { name: string; options: Partial<TaskflowOptions> };
}

/**
 * No-op 3-step tasks end to end on a SQLite file: `starters` callers start `tasks` tasks through
 * `taskflow.start`; the in-process worker runs them; the clock stops when the last `completed`
 * settlement is durable. Returns tasks/s (and checks every task really completed).
 */
export async function taskwireThroughput(dir: string, options: ThroughputOptions): Promise<number> {
  const path = join(dir, `taskwire-throughput${options.variant ? `-${options.variant.name}` : ""}.db`);
  let completed = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const store = countingStore(sqliteStore({ path }), () => {
    completed += 1;
    if (completed === options.tasks) allDone();
  });
  const taskflow = await createTaskflow({
    store,
    logger: silent,
    concurrency: options.concurrency,
    ...options.variant?.options,
  });
  const ref = taskflow.task(noop3);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.starters }, async () => {
      while (next < options.tasks) await taskflow.start(ref, { i: next++ });
    }),
  );
  await done;
  const elapsed = nsToMs(process.hrtime.bigint() - started);
  await taskflow.shutdown();
  const check = new Database(path, { readonly: true });
  const count = check.prepare("SELECT count(*) FROM taskwire_tasks WHERE status = 'completed'").pluck().get();
  check.close();
  if (count !== options.tasks) throw new Error(`expected ${options.tasks} completed tasks, found ${count}`);
  return perSecond(options.tasks, elapsed);
}

/** Per-step latency of one task running alone. */
export interface StepLatency {
  p50Ms: number;
  p99Ms: number;
  stepsPerSec: number;
}

/**
 * One task calling `ctx.step` `steps` times in sequence (no-op bodies); each call is timed from the
 * call to the resolution of its promise, i.e. including the durable checkpoint commit.
 */
export async function taskwireStepLatency(dir: string, steps: number): Promise<StepLatency> {
  const samples: number[] = [];
  let elapsedMs = 0;
  const def = defineTask({
    name: "bench.steps",
    input: z.object({ steps: z.number() }),
    result: z.object({ n: z.number() }),
    async run(input, ctx) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < input.steps; i++) {
        const before = process.hrtime.bigint();
        await ctx.step("s", () => i);
        samples.push(nsToMs(process.hrtime.bigint() - before));
      }
      elapsedMs = nsToMs(process.hrtime.bigint() - t0);
      return { n: input.steps };
    },
  });
  const taskflow = await createTaskflow({
    store: sqliteStore({ path: join(dir, "taskwire-steps.db") }),
    logger: silent,
  });
  const { taskId } = await taskflow.start(taskflow.task(def), { steps });
  for await (const event of taskflow.subscribe(taskId)) {
    if (event.name !== "completed") throw new Error(`step-latency task ended ${event.name}`);
  }
  await taskflow.shutdown();
  return {
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    stepsPerSec: perSecond(steps, elapsedMs),
  };
}
