import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { systemClock } from "../src/clock/clock";
import { defineTask } from "../src/index";
import { collect, deferred, makeTaskflow } from "./helpers";

describe("worker concurrency", () => {
  it("never runs more than `concurrency` handlers at once, refilling slots as runs settle", async () => {
    let active = 0;
    let peak = 0;
    const def = defineTask({
      name: "concurrency.steps",
      input: z.object({ i: z.number() }),
      result: z.object({ i: z.number() }),
      async run(input, ctx) {
        active += 1;
        peak = Math.max(peak, active);
        try {
          await ctx.step("a", () => 1);
          await new Promise((r) => setTimeout(r, 1));
          await ctx.step("b", () => 2);
          return { i: input.i };
        } finally {
          active -= 1;
        }
      },
    });
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 3 });
    const ref = taskflow.task(def);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => taskflow.start(ref, { i })));
    for (const { taskId } of ids) expect((await collect(taskflow, taskId)).at(-1)?.name).toBe("completed");
    expect(peak).toBe(3);
  });

  it("re-runs a task whose retry is due at once (it may be claimed again while its failed run settles)", async () => {
    let attempts = 0;
    const def = defineTask({
      name: "concurrency.retry_now",
      input: z.object({}),
      result: z.object({ attempt: z.number() }),
      retry: { maxAttempts: 3, initialDelayMs: 0, jitter: false },
      async run(_input, ctx) {
        attempts += 1;
        await ctx.step("setup", () => 1);
        if (ctx.attempt < 3) throw new Error("again");
        return { attempt: ctx.attempt };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 2 });
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: { attempt: 3 } } });
    expect(attempts).toBe(3);
  });

  it("keeps the limit when a retry due at once is claimed again while its failed run settles", async () => {
    let active = 0;
    let peak = 0;
    const track = async <T>(fn: () => Promise<T>): Promise<T> => {
      active += 1;
      peak = Math.max(peak, active);
      try {
        return await fn();
      } finally {
        active -= 1;
      }
    };
    const gate = deferred();
    const flaky = defineTask({
      name: "concurrency.flaky_now",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 2, initialDelayMs: 0, jitter: false },
      run: (_input, ctx) =>
        track(async () => {
          await ctx.step("s", () => 1);
          if (ctx.attempt === 1) {
            await gate.promise;
            throw new Error("again");
          }
          return {};
        }),
    });
    const other = defineTask({
      name: "concurrency.other",
      input: z.object({}),
      result: z.object({}),
      run: () => track(async () => ({})),
    });
    // A frozen clock: the retry is due the moment it is scheduled.
    const taskflow = await makeTaskflow(onTestFinished, {
      concurrency: 1,
      clock: { ...systemClock, now: () => 1_000 },
    });
    const a = await taskflow.start(taskflow.task(flaky), {});
    await vi.waitFor(() => expect(active, "the first attempt running").toBe(1), {
      timeout: 5000,
      interval: 5,
    });
    const b = await taskflow.start(taskflow.task(other), {}); // no free slot: queued
    gate.resolve();
    expect((await collect(taskflow, a.taskId)).at(-1)?.name).toBe("completed");
    expect((await collect(taskflow, b.taskId)).at(-1)?.name).toBe("completed");
    expect(peak).toBe(1);
  });
});
