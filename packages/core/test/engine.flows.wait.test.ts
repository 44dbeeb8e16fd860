import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask, runInUserContext, type TaskEvent } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

let beforeSleep = 0;
const sleeper = defineTask({
  name: "flows.sleeper",
  input: z.object({ ms: z.number() }),
  result: z.object({ slept: z.boolean() }),
  events: { tick: z.object({ at: z.string() }) },
  async run(input, ctx) {
    await ctx.step("before", () => {
      beforeSleep += 1;
    });
    ctx.emit("tick", { at: "before" });
    await ctx.sleep("nap", input.ms);
    ctx.emit("tick", { at: "after" });
    return { slept: true };
  },
});

const approval = defineTask({
  name: "flows.approval",
  input: z.object({ waits: z.number(), timeoutMs: z.number().optional() }),
  result: z.object({ answers: z.array(z.boolean()) }),
  signals: { approve: z.object({ approved: z.boolean() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    const answers: boolean[] = [];
    for (let i = 0; i < input.waits; i++) {
      const { approved } = await ctx.waitForSignal("approve", { timeoutMs: input.timeoutMs });
      answers.push(approved);
    }
    return { answers };
  },
});

const names = (events: TaskEvent[]) => events.map((e) => e.name);

describe("ctx.sleep", () => {
  it("waits without a lease and resumes after the deadline without re-running steps or events", async () => {
    beforeSleep = 0;
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(sleeper), { ms: 150 });
    await vi.waitFor(
      async () => expect((await taskflow.get(taskId)).status === "waiting", "sleeping").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const record = await taskflow.store.getTask(taskId);
    expect(record).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
    const events = await collect(taskflow, taskId);
    expect(names(events)).toEqual(["tick", "tick", "completed"]);
    expect(beforeSleep).toBe(1);
    // The deadline is a checkpoint: it was recorded once and the resumed run found it due.
    const steps = (await taskflow.store.loadHistory(taskId)).steps.map((s) => s.key);
    expect(steps).toEqual(["before#0", "sleep:nap#0"]);
  });
});

describe("signals", () => {
  it("buffers a signal sent before the wait and consumes one per waitForSignal occurrence, in order", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(approval);
    const alice = { userId: "alice" };
    const { taskId } = await runInUserContext(alice, () => taskflow.start(ref, { waits: 3 }));
    await runInUserContext(alice, async () => {
      expect(await taskflow.signal(taskId, "approve", { approved: true })).toMatchObject({
        index: 0,
        duplicate: false,
      });
      await vi.waitFor(
        async () => expect((await taskflow.get(taskId)).status === "waiting", "waiting on #2").toBe(true),
        { timeout: 5000, interval: 5 },
      );
      await taskflow.signal(taskId, "approve", { approved: false }, { idempotencyKey: "k" });
      // The same key again: nothing new, the first delivery answers.
      expect(
        await taskflow.signal(taskId, "approve", { approved: true }, { idempotencyKey: "k" }),
      ).toMatchObject({ index: 1, duplicate: true });
      await taskflow.signal(taskId, "approve", { approved: true });
      const events = await collect(taskflow, taskId);
      expect(events.at(-1)).toMatchObject({
        name: "completed",
        data: { result: { answers: [true, false, true] } },
      });
    });
  });

  it("validates payloads and names, and refuses other owners and finished tasks", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(approval);
    const alice = { userId: "alice" };
    const { taskId } = await runInUserContext(alice, () => taskflow.start(ref, { waits: 1 }));
    await runInUserContext(alice, async () => {
      await expect(taskflow.signal(taskId, "approve", { approved: "yes" } as never)).rejects.toMatchObject({
        code: "VALIDATION_ERROR",
        details: { issues: [expect.objectContaining({ path: "approved" })] },
      });
      await expect(taskflow.signal(taskId, "reject" as never, {} as never)).rejects.toMatchObject({
        code: "VALIDATION_ERROR",
        details: { issues: [expect.objectContaining({ path: "name" })] },
      });
    });
    await runInUserContext({ userId: "bob" }, async () => {
      await expect(taskflow.signal(taskId, "approve", { approved: true })).rejects.toMatchObject({
        code: "TASK_NOT_FOUND",
      });
    });
    await runInUserContext(alice, async () => {
      await taskflow.signal(taskId, "approve", { approved: true });
      await collect(taskflow, taskId);
      await expect(taskflow.signal(taskId, "approve", { approved: true })).rejects.toMatchObject({
        code: "TASK_FINISHED",
      });
    });
  });

  it("rejects the wait with SignalTimeoutError after timeoutMs", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(approval), { waits: 1, timeoutMs: 100 });
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "failed", data: { error: { code: "SIGNAL_TIMEOUT" } } });
  });
});
