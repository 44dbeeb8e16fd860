import { createTaskflow, defineTask, type Taskflow } from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import { pino } from "pino";
import { z } from "zod";
import { noop3 } from "../noop3";
import { type Latency, nsToMs, perSecond, timeEach } from "../stats";

const silent = pino({ level: "silent" });

/** Where and how the Taskwire side runs. */
export interface PgTarget {
  url: string;
  schema: string;
  /** Pool size of the store (the floor's starters share a pool of the same size). */
  poolSize: number;
}

/** A taskflow on `postgresStore` (worker concurrency 16 unless given). */
export function openTaskflow(target: PgTarget, concurrency = 16): Promise<Taskflow> {
  return createTaskflow({
    store: postgresStore({ connectionString: target.url, schema: target.schema, max: target.poolSize }),
    logger: silent,
    concurrency,
  });
}

/** Starts `task` and waits for its terminal event through `subscribe`; throws unless it completed. */
export async function runToCompletion(taskflow: Taskflow, i: number): Promise<void> {
  const { taskId } = await taskflow.start(noop3, { i });
  for await (const event of taskflow.subscribe(taskId)) {
    if (event.name === "completed") return;
    if (event.name === "failed" || event.name === "cancelled")
      throw new Error(`task ${taskId} ${event.name}`);
  }
  throw new Error(`task ${taskId} ended without a terminal event`);
}

/**
 * No-op 3-step tasks end to end: `starters` callers each loop `taskflow.start` + `subscribe` until the
 * terminal `completed` event for `durationMs`; the in-process worker (concurrency ≥ starters) runs them
 * (a start claims its task at once when the worker has a free slot). Returns tasks/s.
 */
export async function taskwireThroughput(
  taskflow: Taskflow,
  options: { starters: number; durationMs: number },
): Promise<number> {
  let tasks = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.durationMs;
  await Promise.all(
    Array.from({ length: options.starters }, async () => {
      while (Date.now() < deadline) {
        await runToCompletion(taskflow, next++);
        tasks += 1;
      }
    }),
  );
  return perSecond(tasks, nsToMs(process.hrtime.bigint() - started));
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
