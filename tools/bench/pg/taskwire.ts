import { createTaskflow, defineTask, type Taskflow } from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import type pg from "pg";
import { pino } from "pino";
import { z } from "zod";
import { type CompletionStore, completionStore } from "../closed-loop";
import { noop3 } from "../noop3";
import { type Latency, timeEach } from "../stats";

const silent = pino({ level: "silent" });

/** Where and how the Taskwire side runs. */
export interface PgTarget {
  url: string;
  schema: string;
  /** Pool size of the store (the floor's starters share a pool of the same size). */
  poolSize: number;
}

/** A taskflow on PostgreSQL whose `completed` settlements can be awaited (see `closedLoop`). */
export interface PgTaskflow {
  taskflow: Taskflow;
  completions: CompletionStore;
}

/**
 * A taskflow on `postgresStore` (worker concurrency 16 unless given; `noop3` registered), on `pool` when
 * given (a counting pool), else on a pool of `poolSize` the store creates.
 */
export async function openTaskflow(
  target: PgTarget,
  options: { concurrency?: number; pool?: pg.Pool; worker?: boolean } = {},
): Promise<PgTaskflow> {
  const connection = options.pool
    ? { pool: options.pool }
    : { connectionString: target.url, max: target.poolSize };
  const completions = completionStore(postgresStore({ ...connection, schema: target.schema }));
  const taskflow = await createTaskflow({
    store: completions.store,
    logger: silent,
    concurrency: options.concurrency ?? 16,
    worker: options.worker ?? true,
  });
  taskflow.task(noop3);
  return { taskflow, completions };
}

/**
 * One task calling `ctx.step` `steps` times in sequence (no-op bodies); each call is timed from the call
 * to the resolution of its promise, i.e. including the durable checkpoint write.
 */
export async function taskwireStepLatency(taskflow: Taskflow, steps: number): Promise<Latency> {
  let measured: Latency | undefined;
  const name = `bench.steps.${steps}.${Date.now()}`;
  const def = defineTask({
    name,
    input: z.object({ steps: z.number() }),
    result: z.object({ n: z.number() }),
    async run(input, ctx) {
      measured = await timeEach(input.steps, (i) => ctx.step("s", () => i));
      return { n: input.steps };
    },
  });
  const { taskId } = await taskflow.start(taskflow.task(def), { steps });
  for await (const event of taskflow.subscribe(taskId)) {
    if (event.name !== "completed") throw new Error(`step-latency task ended ${event.name}`);
  }
  if (!measured) throw new Error("the step-latency task completed without running its body");
  return measured;
}
