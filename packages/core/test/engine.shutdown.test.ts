import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask, memoryStore } from "../src/index";
import { collect, crashableStore, makeTaskflow } from "./helpers";

describe("shutdown", () => {
  it("keeps renewing leases while handlers finish within the grace, so no other node runs the step twice", async () => {
    let inside = 0;
    let peak = 0;
    const def = defineTask({
      name: "shutdown.slow_step",
      input: z.object({}),
      result: z.object({ v: z.number() }),
      async run(_input, ctx) {
        const v = await ctx.step("slow", async () => {
          inside += 1;
          peak = Math.max(peak, inside);
          await new Promise((resolve) => setTimeout(resolve, 900)); // ignores ctx.signal: finishes in the grace
          inside -= 1;
          return 1;
        });
        return { v: await ctx.step("next", () => v + 1) };
      },
    });
    const shared = memoryStore();
    // The first node's own store handle: its close() must not close the store the second node shares.
    const { store: firstStore } = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, {
      store: firstStore,
      leaseMs: 300,
      shutdownTimeoutMs: 2_000,
    });
    const { taskId } = await first.start(first.task(def), {});
    await vi.waitFor(() => expect(inside, "the slow step running").toBe(1), { timeout: 5_000, interval: 5 });
    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 300 });
    second.task(def);
    await first.shutdown(); // aborts the handler, waits for it, then hands the task back
    const events = await collect(second, taskId);
    expect(events.at(-1)?.data).toEqual({ result: { v: 2 } });
    expect(peak).toBe(1); // the slow step never ran on both nodes at once
    expect((await shared.getTask(taskId))?.claims).toBe(2);
  });
});
