import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask } from "../src/index";
import { collect, deferred, makeTaskflow } from "./helpers";

describe("cancellation", () => {
  it("records the request, aborts ctx.signal, and settles cancelled; repeat requests are no-ops", async () => {
    const started = deferred();
    let reason: unknown;
    let stepsAfterCancel = 0;
    const def = defineTask({
      name: "cancel.running",
      input: z.object({}),
      result: z.object({}),
      async run(_input, ctx) {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        reason = ctx.signal.reason;
        await ctx.step("after", () => stepsAfterCancel++); // a checkpoint after cancel never runs
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    await started.promise;
    const first = await taskflow.cancel(taskId);
    expect(first.outcome).toBe("requested");
    const events = await collect(taskflow, taskId);
    expect(events.map((e) => e.name)).toEqual(["cancelled"]);
    expect(reason).toMatchObject({ code: "CANCELLED" });
    expect(stepsAfterCancel).toBe(0);
    const snapshot = await taskflow.get(taskId);
    expect(snapshot.status).toBe("cancelled");
    expect(snapshot.cancelRequestedAt).toBeInstanceOf(Date);
    const again = await taskflow.cancel(taskId);
    expect(again).toEqual({ taskId, status: "cancelled", outcome: "already_finished" });
    expect((await taskflow.get(taskId)).lastSeq).toBe(1);
  });

  it("cancels a queued task at once", async () => {
    const def = defineTask({
      name: "cancel.queued",
      input: z.object({}),
      result: z.object({}),
      run: async () => ({}),
    });
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    expect(await taskflow.cancel(taskId)).toMatchObject({ status: "cancelled", outcome: "cancelled" });
    expect((await collect(taskflow, taskId)).map((e) => e.name)).toEqual(["cancelled"]);
  });

  it("says so and changes nothing when cancelling a completed task", async () => {
    const def = defineTask({
      name: "cancel.done",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      run: async () => ({ ok: true }),
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    await collect(taskflow, taskId);
    const result = await taskflow.cancel(taskId);
    expect(result).toEqual({ taskId, status: "completed", outcome: "already_finished" });
    expect((await taskflow.get(taskId)).result).toEqual({ ok: true });
  });

  it("reaches a handler running on another taskflow through the store's cancel watch", async () => {
    const started = deferred();
    const def = defineTask({
      name: "cancel.remote",
      input: z.object({}),
      result: z.object({}),
      async run(_input, ctx) {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        return {};
      },
    });
    // A long lease: the heartbeat (every leaseMs / 3 = 20 s) cannot be what delivers the cancel.
    const runner = await makeTaskflow(onTestFinished, { leaseMs: 60_000 });
    runner.task(def);
    const { store } = runner;
    const { taskId } = await runner.start(def, {});
    await started.promise;
    // A second taskflow on the same store with no worker: it only records the request.
    const api = await makeTaskflow(() => {}, { store, worker: false });
    api.task(def);
    expect((await api.cancel(taskId)).outcome).toBe("requested");
    await vi.waitFor(async () => expect((await runner.get(taskId)).status, "cancelled").toBe("cancelled"), {
      timeout: 5_000,
      interval: 5,
    });
  });
});
