import { createTaskflow, defineTask } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";

describe("engine on sqliteStore: settlements and claims share group commits", () => {
  it("never runs more than `concurrency` handlers, and reclaims a retry due at once in the same batch", async () => {
    let active = 0;
    let peak = 0;
    const runs = new Map<number, number>();
    const def = defineTask({
      name: "sqlite.concurrency",
      input: z.object({ i: z.number() }),
      result: z.object({ i: z.number() }),
      retry: { maxAttempts: 2, initialDelayMs: 0, jitter: false },
      async run(input, ctx) {
        active += 1;
        peak = Math.max(peak, active);
        runs.set(input.i, (runs.get(input.i) ?? 0) + 1);
        try {
          await ctx.step("a", () => 1);
          if (input.i % 5 === 0 && ctx.attempt === 1) throw new Error("retry me");
          await ctx.step("b", () => 2);
          return { i: input.i };
        } finally {
          active -= 1;
        }
      },
    });
    const taskflow = await createTaskflow({
      store: sqliteStore({ path: ":memory:" }),
      concurrency: 4,
      pollIntervalMs: 20,
    });
    onTestFinished(() => taskflow.shutdown());
    const ref = taskflow.task(def);
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => taskflow.start(ref, { i })));
    for (const { taskId } of ids) {
      for await (const event of taskflow.subscribe(taskId)) {
        if (event.name !== "completed") expect.fail(`task ${taskId} ended ${event.name}`);
      }
    }
    expect(peak).toBeLessThanOrEqual(4);
    for (let i = 0; i < 40; i++) expect(runs.get(i)).toBe(i % 5 === 0 ? 2 : 1);
  });
});
