import { createTaskflow, defineTask, memoryStore, type Taskflow, type TaskflowOptions } from "@taskwire/core";
import { createFakeClock, type FakeClock } from "@taskwire/testing";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";

const MINUTE = 60_000;

async function engineOn(clock: FakeClock, options: Partial<TaskflowOptions> = {}): Promise<Taskflow> {
  const taskflow = await createTaskflow({ store: memoryStore(), clock, ...options });
  onTestFinished(() => taskflow.shutdown());
  return taskflow;
}

/** Every test here waits minutes of engine time; none may take a second of real time. */
function realTimeBudget(ms = 1000) {
  const started = performance.now();
  onTestFinished(() => expect(performance.now() - started).toBeLessThan(ms));
}

describe("the engine on a fake clock", () => {
  it("a task retry with minutes of backoff runs as soon as the clock passes it, not before", async () => {
    realTimeBudget();
    const clock = createFakeClock();
    const taskflow = await engineOn(clock);
    const attempts: number[] = [];
    const flaky = taskflow.task(
      defineTask({
        name: "clock.flaky",
        input: z.object({}),
        result: z.object({ attempt: z.number() }),
        retry: {
          maxAttempts: 3,
          backoff: "exponential",
          initialDelayMs: 5 * MINUTE,
          maxDelayMs: 60 * MINUTE,
          jitter: false,
        },
        async run(_input, ctx) {
          attempts.push(clock.now());
          if (ctx.attempt < 3) throw new Error("upstream unavailable");
          return { attempt: ctx.attempt };
        },
      }),
    );
    const t0 = clock.now();
    const { taskId } = await taskflow.start(flaky, {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("retrying"), {
      interval: 5,
    });

    await clock.advance(5 * MINUTE - 1);
    expect(attempts).toEqual([t0]);
    expect((await taskflow.get(taskId)).status).toBe("retrying");

    await clock.advance(1); // attempt 2 at +5 min fails; attempt 3 is due 10 min later
    expect(attempts).toEqual([t0, t0 + 5 * MINUTE]);
    await clock.advance(10 * MINUTE);
    expect(attempts).toEqual([t0, t0 + 5 * MINUTE, t0 + 15 * MINUTE]);
    expect(await taskflow.get(taskId)).toMatchObject({ status: "completed", result: { attempt: 3 } });
  });

  it("a task over its timeoutMs fails with TASK_TIMEOUT once the clock passes the limit", async () => {
    realTimeBudget();
    const clock = createFakeClock();
    const taskflow = await engineOn(clock);
    const slow = taskflow.task(
      defineTask({
        name: "clock.slow",
        input: z.object({}),
        result: z.object({}),
        timeoutMs: 30 * MINUTE,
        retry: { maxAttempts: 1 },
        async run(_input, ctx) {
          // Waits for its abort signal: only the timeout can end it.
          await new Promise((_, reject) =>
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
          );
          return {};
        },
      }),
    );
    const { taskId } = await taskflow.start(slow, {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("running"), {
      interval: 5,
    });
    await clock.advance(30 * MINUTE - 1);
    expect((await taskflow.get(taskId)).status).toBe("running");
    await clock.advance(1);
    expect(await taskflow.get(taskId)).toMatchObject({ status: "failed", error: { code: "TASK_TIMEOUT" } });
  });

  it("a step's retry sleeps on the engine clock", async () => {
    realTimeBudget();
    const clock = createFakeClock();
    const taskflow = await engineOn(clock);
    const calls: number[] = [];
    const withStepRetry = taskflow.task(
      defineTask({
        name: "clock.step-retry",
        input: z.object({}),
        result: z.object({ value: z.number() }),
        async run(_input, ctx) {
          const value = await ctx.step(
            "fetch",
            () => {
              calls.push(clock.now());
              if (calls.length < 2) throw new Error("flaky fetch");
              return 42;
            },
            { retry: { maxAttempts: 2, initialDelayMs: 2 * MINUTE, maxDelayMs: 2 * MINUTE, jitter: false } },
          );
          return { value };
        },
      }),
    );
    const t0 = clock.now();
    const { taskId } = await taskflow.start(withStepRetry, {});
    await vi.waitFor(() => expect(calls).toHaveLength(1), { interval: 5 });
    await clock.advance(2 * MINUTE);
    expect(calls).toEqual([t0, t0 + 2 * MINUTE]);
    expect(await taskflow.get(taskId)).toMatchObject({ status: "completed", result: { value: 42 } });
  });

  it("heartbeats renew the lease on the engine clock: a run ten times longer than its lease keeps it", async () => {
    realTimeBudget();
    const clock = createFakeClock();
    const taskflow = await engineOn(clock, { leaseMs: MINUTE });
    const long = taskflow.task(
      defineTask({
        name: "clock.long",
        input: z.object({}),
        result: z.object({}),
        async run(_input, ctx) {
          await clock.sleep(10 * MINUTE, ctx.signal);
          return {};
        },
      }),
    );
    const { taskId } = await taskflow.start(long, {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("running"), {
      interval: 5,
    });
    const claimed = await taskflow.store.getTask(taskId);
    await clock.advance(5 * MINUTE);
    const midway = await taskflow.store.getTask(taskId);
    expect(midway?.status).toBe("running");
    expect(midway?.leaseExpiresAt).toBeGreaterThan(clock.now()); // renewed on the fake clock's time
    await clock.advance(5 * MINUTE);
    expect(await taskflow.store.getTask(taskId)).toMatchObject({
      status: "completed",
      claims: claimed?.claims,
    });
  });
});
