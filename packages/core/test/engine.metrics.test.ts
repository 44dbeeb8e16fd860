import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import {
  defineTask,
  memoryStore,
  NonRetriableError,
  runInUserContext,
  type TaskwireMetrics,
} from "../src/index";
import { collect, crashableStore, deferred, makeTaskflow } from "./helpers";

/** Records every call as `method task…` (durations kept apart). */
function recordingMetrics() {
  const calls: string[] = [];
  const durations: Record<string, number[]> = {};
  const timed = (kind: string, ms: number) => {
    expect(ms).toBeGreaterThanOrEqual(0);
    durations[kind] = [...(durations[kind] ?? []), ms];
  };
  const metrics: TaskwireMetrics = {
    taskStarted: (task) => calls.push(`started ${task}`),
    taskFinished: (task, status, ms) => {
      calls.push(`finished ${task} ${status}`);
      timed("task", ms);
    },
    stepCompleted: (task, ms) => {
      calls.push(`step ${task}`);
      timed("step", ms);
    },
    queueWait: (task, ms) => {
      calls.push(`wait ${task}`);
      timed("wait", ms);
    },
    leaseReclaimed: (task) => calls.push(`reclaimed ${task}`),
    sseStreamOpened: () => calls.push("sse open"),
    sseStreamClosed: () => calls.push("sse close"),
    sseReplayed: () => calls.push("sse replay"),
    httpThrottled: (limit) => calls.push(`throttled ${limit}`),
  };
  return { metrics, calls, durations };
}

const twoSteps = defineTask({
  name: "metrics.two",
  input: z.object({ fail: z.boolean().default(false) }),
  result: z.object({ ok: z.boolean() }),
  async run(input, ctx) {
    await ctx.step("a", () => 1);
    await ctx.step("b", () => 2);
    if (input.fail) throw new NonRetriableError("no");
    return { ok: true };
  },
});

describe("metrics", () => {
  it("counts a start, its claim's queue wait, each executed step and the completion, once each", async () => {
    const { metrics, calls, durations } = recordingMetrics();
    const taskflow = await makeTaskflow(onTestFinished, { metrics });
    expect(taskflow.metrics).toBe(metrics);
    const ref = taskflow.task(twoSteps);
    const { taskId } = await taskflow.start(ref, {});
    await collect(taskflow, taskId);
    await vi.waitFor(() => expect(calls).toContain("finished metrics.two completed"));
    expect(calls).toEqual([
      "started metrics.two",
      "wait metrics.two",
      "step metrics.two",
      "step metrics.two",
      "finished metrics.two completed",
    ]);
    expect(durations.step).toHaveLength(2);
  });

  it("counts failures and cancels of queued tasks; a deduplicated start is not a new task", async () => {
    const { metrics, calls } = recordingMetrics();
    const taskflow = await makeTaskflow(onTestFinished, { metrics });
    const ref = taskflow.task(twoSteps);
    const failed = await taskflow.start(ref, { fail: true });
    await collect(taskflow, failed.taskId);
    await vi.waitFor(() => expect(calls).toContain("finished metrics.two failed"));
    const again = await taskflow.start(ref, { fail: true }, { idempotencyKey: "k" });
    await taskflow.start(ref, { fail: true }, { idempotencyKey: "k" });
    await collect(taskflow, again.taskId);
    await vi.waitFor(() => expect(calls.filter((c) => c === "finished metrics.two failed")).toHaveLength(2));
    expect(calls.filter((c) => c === "started metrics.two")).toHaveLength(2);

    // Not claimable here (no worker): cancelled at once by the store, counted by cancel().
    const idle = await makeTaskflow(onTestFinished, { metrics, worker: false });
    const idleRef = idle.task(twoSteps);
    const queued = await runInUserContext({ userId: "bob" }, () => idle.start(idleRef, {}));
    expect((await idle.cancel(queued.taskId)).outcome).toBe("cancelled");
    expect(calls).toContain("finished metrics.two cancelled");
  });

  it("counts a lease reclaim (not a queue wait) when a worker takes over a dead worker's task", async () => {
    const inner = memoryStore();
    const { metrics, calls } = recordingMetrics();
    const inB = deferred();
    const def = defineTask({
      name: "metrics.reclaim",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      async run(_input, ctx) {
        await ctx.step("a", () => inB.resolve());
        await ctx.step("b", () => new Promise((resolve) => setTimeout(resolve, 20)));
        return { ok: true };
      },
    });
    const crashable = crashableStore(inner);
    const first = await makeTaskflow(onTestFinished, { store: crashable.store, leaseMs: 200 });
    const { taskId } = await first.start(first.task(def), {});
    await inB.promise;
    crashable.crash();
    const second = await makeTaskflow(onTestFinished, { store: inner, leaseMs: 200, metrics });
    second.task(def);
    await vi.waitFor(async () => expect((await second.get(taskId)).status).toBe("completed"), {
      timeout: 5000,
    });
    await vi.waitFor(() => expect(calls).toContain("finished metrics.reclaim completed"));
    expect(calls.filter((c) => c.startsWith("reclaimed") || c.startsWith("wait"))).toEqual([
      "reclaimed metrics.reclaim",
    ]);
  });
});
