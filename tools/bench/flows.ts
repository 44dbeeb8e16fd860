import { join } from "node:path";
import { createTaskflow, defineTask } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { z } from "zod";
import { noop3 } from "./noop3";
import { type Latency, latency, nsToMs, perSecond } from "./stats";

const silent = pino({ level: "silent" });

async function runToCompletion(
  path: string,
  def: ReturnType<typeof defineTask>,
  input: unknown,
  concurrency = 16,
) {
  const taskflow = await createTaskflow({ store: sqliteStore({ path }), logger: silent, concurrency });
  taskflow.task(noop3);
  const ref = taskflow.task(def);
  const started = process.hrtime.bigint();
  const { taskId } = await taskflow.start(ref, input as never);
  for await (const event of taskflow.subscribe(taskId)) {
    if (event.name === "failed" || event.name === "cancelled")
      throw new Error(`bench flow ended ${event.name}`);
  }
  const elapsedMs = nsToMs(process.hrtime.bigint() - started);
  await taskflow.shutdown();
  return elapsedMs;
}

/**
 * Spawn + result of one no-op 3-step child at a time, `samples` times in one parent: from the spawn call
 * to the resolved result, which includes the parent parking as `waiting`, the child's run, the wake-up and
 * the parent's replay up to that point.
 */
export async function spawnResultLatency(dir: string, samples: number): Promise<Latency> {
  const spawnedAt = new Map<number, bigint>();
  const times: number[] = [];
  const def = defineTask({
    name: "bench.sequential",
    input: z.object({ n: z.number() }),
    result: z.object({ n: z.number() }),
    async run(input, ctx) {
      for (let i = 0; i < input.n; i++) {
        if (!spawnedAt.has(i)) spawnedAt.set(i, process.hrtime.bigint());
        const child = await ctx.spawn(noop3, { i });
        await child.result();
        if (times.length === i) times.push(nsToMs(process.hrtime.bigint() - spawnedAt.get(i)!));
      }
      return { n: input.n };
    },
  });
  await runToCompletion(join(dir, `flows-sequential-${Date.now()}.db`), def, { n: samples });
  return latency(times);
}

/** A parent fanning out `children` no-op 3-step children with `Promise.all` and joining them: children/s. */
export async function fanOutThroughput(dir: string, children: number): Promise<number> {
  const def = defineTask({
    name: "bench.fanout",
    input: z.object({ n: z.number() }),
    result: z.object({ n: z.number() }),
    async run(input, ctx) {
      const handles = await Promise.all(Array.from({ length: input.n }, (_, i) => ctx.spawn(noop3, { i })));
      await Promise.all(handles.map((h) => h.result()));
      return { n: input.n };
    },
  });
  const elapsedMs = await runToCompletion(join(dir, `flows-fanout-${Date.now()}.db`), def, { n: children });
  return perSecond(children, elapsedMs);
}
