import { defineTask, runInUserContext, type Taskflow } from "@taskwire/core";
import { z } from "zod";

/** The owner of every task the SSE scenarios read (sent as `x-forwarded-user`). */
export const BENCH_USER = "bench";

/** A task that emits `count` `tick` events (a progress-shaped payload) and completes. */
export const ticks = defineTask({
  name: "bench.ticks",
  input: z.object({ count: z.number().int().nonnegative() }),
  result: z.object({ count: z.number() }),
  events: { tick: z.object({ done: z.number(), total: z.number(), note: z.string() }) },
  async run(input, ctx) {
    for (let done = 1; done <= input.count; done++) {
      ctx.emit("tick", { done, total: input.count, note: "rendering chunk" });
    }
    // A checkpoint after the emits: they are durable before the task settles.
    await ctx.step("end", () => input.count);
    return { count: input.count };
  },
});

/** Starts one `ticks` task per entry of `counts` as {@link BENCH_USER} and waits until all completed. */
export async function prepareTicks(taskflow: Taskflow, counts: readonly number[]): Promise<string[]> {
  return runInUserContext({ userId: BENCH_USER }, async () => {
    const ids: string[] = [];
    for (const count of counts) ids.push((await taskflow.start(ticks, { count })).taskId);
    for (const taskId of ids) {
      for await (const event of taskflow.subscribe(taskId)) {
        if (event.name !== "completed" && event.name !== "tick")
          throw new Error(`ticks task ${taskId} ended ${event.name}`);
      }
    }
    return ids;
  });
}
