import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask, memoryStore, NonRetriableError, type TaskStore } from "../src/index";
import { DEFAULT_TASK_RETRY, resolveRetryPolicy, retryDelayMs } from "../src/task/retry-policy";
import { collect, makeTaskflow } from "./helpers";

describe("retries and timeouts", () => {
  it("retries a failing attempt with backoff and never re-runs completed steps", async () => {
    const runs = { setup: 0, flaky: 0 };
    const def = defineTask({
      name: "retry.flaky",
      input: z.object({}),
      result: z.object({ attempt: z.number() }),
      events: { tried: z.object({ attempt: z.number() }) },
      retry: { maxAttempts: 3, initialDelayMs: 10, jitter: false },
      async run(_input, ctx) {
        await ctx.step("setup", () => runs.setup++);
        ctx.emit("tried", { attempt: 1 });
        await ctx.step("flaky", () => {
          runs.flaky++;
          if (runs.flaky < 3) throw new Error(`boom ${runs.flaky}`);
        });
        return { attempt: ctx.attempt };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.map((e) => e.name)).toEqual(["tried", "completed"]); // the emit is deduplicated across attempts
    expect(events.at(-1)?.data).toEqual({ result: { attempt: 3 } });
    expect(runs).toEqual({ setup: 1, flaky: 3 });
    expect((await taskflow.get(taskId)).error).toBeUndefined(); // the failed attempts' error is history
  });

  it("ends failed with a structured error once attempts are exhausted, and stays inspectable", async () => {
    let calls = 0;
    const def = defineTask({
      name: "retry.exhausted",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 2, initialDelayMs: 5 },
      async run() {
        calls++;
        throw Object.assign(new Error("disk full"), { code: "DISK_FULL" });
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({
      name: "failed",
      data: { error: { code: "DISK_FULL", message: "disk full" } },
    });
    expect(calls).toBe(2);
    const snapshot = await taskflow.get(taskId);
    expect(snapshot).toMatchObject({
      status: "failed",
      attempt: 2,
      error: { code: "DISK_FULL", message: "disk full" },
    });
    expect(JSON.stringify(snapshot.error)).not.toContain("at "); // no stack
  });

  it("stops at once on NonRetriableError", async () => {
    let calls = 0;
    const def = defineTask({
      name: "retry.nonretriable",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 5, initialDelayMs: 5 },
      async run() {
        calls++;
        throw new NonRetriableError("bad account", { code: "BAD_ACCOUNT" });
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "failed", data: { error: { code: "BAD_ACCOUNT" } } });
    expect(calls).toBe(1);
  });

  it("retries a step in-process with its own policy", async () => {
    let calls = 0;
    const def = defineTask({
      name: "retry.step",
      input: z.object({}),
      result: z.object({ calls: z.number() }),
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await ctx.step(
          "wobbly",
          () => {
            calls++;
            if (calls < 3) throw new Error("transient");
          },
          { retry: { maxAttempts: 3, initialDelayMs: 1 } },
        );
        return { calls };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: { calls: 3 } } });
    expect((await taskflow.get(taskId)).attempt).toBe(1);
  });

  it("times out an attempt, aborts ctx.signal, and fails with TASK_TIMEOUT", async () => {
    let aborted: unknown;
    const def = defineTask({
      name: "retry.timeout",
      input: z.object({}),
      result: z.object({}),
      timeoutMs: 50,
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        aborted = ctx.signal.reason;
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "failed", data: { error: { code: "TASK_TIMEOUT" } } });
    expect(aborted).toMatchObject({ code: "TASK_TIMEOUT" });
  });

  it("computes exponential backoff with jitter inside [delay/2, delay]", () => {
    const policy = resolveRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1000 }, DEFAULT_TASK_RETRY);
    expect(retryDelayMs({ ...policy, jitter: false }, 2)).toBe(100);
    expect(retryDelayMs({ ...policy, jitter: false }, 4)).toBe(400);
    expect(retryDelayMs({ ...policy, jitter: false }, 10)).toBe(1000);
    expect(retryDelayMs(policy, 3, () => 0)).toBe(100);
    expect(retryDelayMs(policy, 3, () => 1)).toBe(200);
  });

  it("does not record a store failure while settling a successful run as the task's failure", async () => {
    const inner = memoryStore();
    let failNextCompletion = true;
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop !== "settleTask") {
          const value = Reflect.get(target, prop, receiver);
          return typeof value === "function" ? value.bind(target) : value; // private fields need the target
        }
        const settle: TaskStore["settleTask"] = async (lease, settlement, now) => {
          if (settlement.status === "completed" && failNextCompletion) {
            failNextCompletion = false;
            throw new Error("connection reset");
          }
          return target.settleTask(lease, settlement, now);
        };
        return settle;
      },
    });
    const def = defineTask({
      name: "retry.settle_failure",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      retry: { maxAttempts: 1 },
      run: async () => ({ ok: true }),
    });
    const taskflow = await makeTaskflow(onTestFinished, { store, leaseMs: 150 });
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    const events = await collect(taskflow, taskId); // reclaimed once the lease expired, then completed
    expect(events.map((e) => e.name)).toEqual(["completed"]);
    expect(await taskflow.get(taskId)).toMatchObject({ status: "completed", result: { ok: true } });
    expect((await inner.getTask(taskId))?.claims).toBe(2);
  });
});
