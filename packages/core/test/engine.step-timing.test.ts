import { createFakeClock } from "@taskwire/testing";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask } from "../src/index";
import { makeTaskflow } from "./helpers";

describe("step timing in the checkpoint", () => {
  it("a step retried in-process records its tries as attempts and the start of its first try as startedAt", async () => {
    const clock = createFakeClock();
    const taskflow = await makeTaskflow(onTestFinished, { clock });
    const tries: number[] = [];
    const def = defineTask({
      name: "timing.flaky-step",
      input: z.object({}),
      result: z.object({}),
      async run(_input, ctx) {
        await ctx.step("quick", () => 1);
        await ctx.step(
          "flaky",
          () => {
            tries.push(clock.now());
            if (tries.length < 3) throw new Error("transient");
            return "ok";
          },
          { retry: { maxAttempts: 5, initialDelayMs: 1_000, backoff: "fixed", jitter: false } },
        );
        await ctx.sleep("nap", 5_000);
        return {};
      },
    });
    const t0 = clock.now();
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    await vi.waitFor(() => expect(tries).toHaveLength(1), { interval: 5 });
    await clock.advance(1_000);
    await clock.advance(1_000);
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("waiting"), {
      interval: 5,
    });
    await clock.advance(5_000);
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"), {
      interval: 5,
    });

    expect(tries).toEqual([t0, t0 + 1_000, t0 + 2_000]);
    const { steps } = await taskflow.store.loadHistory(taskId);
    expect(steps.map(({ key, startedAt, at, attempts }) => ({ key, startedAt, at, attempts }))).toEqual([
      { key: "quick#0", startedAt: t0, at: t0, attempts: 1 },
      // Two retries: three tries, timed from the first one's start to the checkpoint.
      { key: "flaky#0", startedAt: t0, at: t0 + 2_000, attempts: 3 },
      // A flow checkpoint: one attempt, recorded when the sleep began.
      { key: "sleep:nap#0", startedAt: t0 + 2_000, at: t0 + 2_000, attempts: 1 },
    ]);
    for (const step of steps) expect(step.startedAt).toBeLessThanOrEqual(step.at);
  });

  it("a spawn checkpoint records one attempt and a startedAt no later than its time", async () => {
    const clock = createFakeClock();
    const taskflow = await makeTaskflow(onTestFinished, { clock });
    const child = taskflow.task(
      defineTask({ name: "timing.child", input: z.object({}), result: z.object({}), run: async () => ({}) }),
    );
    const parent = taskflow.task(
      defineTask({
        name: "timing.parent",
        input: z.object({}),
        result: z.object({}),
        async run(_input, ctx) {
          await ctx.spawn(child, {});
          return {};
        },
      }),
    );
    const { taskId } = await taskflow.start(parent, {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"), {
      interval: 5,
    });
    const [spawned] = (await taskflow.store.loadHistory(taskId)).steps;
    expect(spawned).toMatchObject({ key: "spawn:timing.child#0", attempts: 1, startedAt: clock.now() });
    expect(spawned!.startedAt).toBeLessThanOrEqual(spawned!.at);
  });

  it("a wait's checkpoint (a child's result, a signal) starts at the previous checkpoint: the time waited", async () => {
    const clock = createFakeClock();
    const taskflow = await makeTaskflow(onTestFinished, { clock });
    const child = taskflow.task(
      defineTask({
        name: "timing.slow-child",
        input: z.object({}),
        result: z.object({}),
        async run(_input, ctx) {
          await ctx.sleep("work", 3_000);
          return {};
        },
      }),
    );
    const parent = taskflow.task(
      defineTask({
        name: "timing.waiting-parent",
        input: z.object({}),
        result: z.object({}),
        signals: { go: z.object({}) },
        async run(_input, ctx) {
          await ctx.step("plan", () => 1);
          await (await ctx.spawn(child, {})).result();
          await ctx.waitForSignal("go");
          return {};
        },
      }),
    );
    const t0 = clock.now();
    const { taskId } = await taskflow.start(parent, {});
    const children = () => taskflow.store.listTasks({ parentId: taskId });
    await vi.waitFor(async () => expect((await children())[0]?.status).toBe("waiting"), { interval: 5 });
    await clock.advance(3_000); // the child's sleep ends; the parent, parked meanwhile, resumes
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("waiting"), {
      interval: 5,
    });
    await vi.waitFor(
      async () => expect((await taskflow.store.loadHistory(taskId)).steps.map((s) => s.key)).toHaveLength(3),
      { interval: 5 },
    );
    await clock.advance(2_000);
    await taskflow.signal(taskId, "go", {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"), {
      interval: 5,
    });
    const { steps } = await taskflow.store.loadHistory(taskId);
    expect(steps.map(({ key, startedAt, at }) => ({ key, startedAt, at }))).toEqual([
      { key: "plan#0", startedAt: t0, at: t0 },
      { key: "spawn:timing.slow-child#0", startedAt: t0, at: t0 },
      { key: "result:spawn:timing.slow-child#0#0", startedAt: t0, at: t0 + 3_000 },
      { key: "signal:go#0", startedAt: t0 + 3_000, at: t0 + 5_000 },
    ]);
  });
});
