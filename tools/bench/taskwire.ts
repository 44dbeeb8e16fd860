import { join } from "node:path";
import { createTaskflow, defineTask, type TaskflowOptions } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { pino } from "pino";
import { z } from "zod";
import { type ClosedLoopResult, closedLoop, completionStore } from "./closed-loop";
import { noop3 } from "./noop3";
import type { Synchronous } from "./raw-sqlite";
import { nsToMs, percentile, perSecond } from "./stats";

const silent = pino({ level: "silent" });

/** Settings of the end-to-end throughput measurement. */
export interface ThroughputOptions {
  durationMs: number;
  /** Worker concurrency (tasks run at once). */
  concurrency: number;
  /** Concurrent callers, each starting a task and waiting for its completion, then the next. */
  starters: number;
  synchronous?: Synchronous;
  /** Extra taskflow options (metrics, tracing) of a variant; its database file is named after `variant`. */
  variant?: { name: string; options: Partial<TaskflowOptions> };
}

/** What a throughput run measured: tasks/s, and how many tasks completed (checked in the file). */
export type ThroughputResult = ClosedLoopResult;

/**
 * No-op 3-step tasks end to end on a fresh SQLite file: `starters` callers each loop `taskflow.start`
 * and wait until that task's `completed` settlement is durable (seen at the store, so no subscription
 * cost is charged) for `durationMs`; the in-process worker runs them. Returns tasks/s and checks in the
 * file that every started task completed.
 */
export async function taskwireThroughput(dir: string, options: ThroughputOptions): Promise<ThroughputResult> {
  const synchronous = options.synchronous ?? "NORMAL";
  const path = join(
    dir,
    `taskwire-${synchronous}-${options.starters}${options.variant ? `-${options.variant.name}` : ""}-${Date.now()}.db`,
  );
  const completions = completionStore(sqliteStore({ path, synchronous }));
  const taskflow = await createTaskflow({
    store: completions.store,
    logger: silent,
    concurrency: options.concurrency,
    ...options.variant?.options,
  });
  taskflow.task(noop3);
  const { tasks, tasksPerSec } = await closedLoop(taskflow, completions, options);
  await taskflow.shutdown();
  const check = new Database(path, { readonly: true });
  const count = check.prepare("SELECT count(*) FROM taskwire_tasks WHERE status = 'completed'").pluck().get();
  check.close();
  if (count !== tasks) throw new Error(`expected ${tasks} completed tasks, found ${count}`);
  return { tasksPerSec, tasks };
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
    store: sqliteStore({ path: join(dir, `taskwire-steps-${Date.now()}.db`) }),
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
