import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import {
  type AnyTaskDefinition,
  type ChildEventData,
  defineTask,
  memoryStore,
  NonRetriableError,
  StoreConflictError,
  type TaskEvent,
} from "../src/index";
import { collect, makeTaskflow, overridable } from "./helpers";

/** Runs until cancelled (it honours ctx.signal), spawning `depth` levels of the same below it. */
const worker: AnyTaskDefinition = defineTask({
  name: "flows.worker",
  input: z.object({ depth: z.number() }),
  result: z.object({}),
  async run(input, ctx) {
    if (input.depth > 0) {
      const h = await ctx.spawn(worker, { depth: input.depth - 1 });
      await h.result();
      return {};
    }
    await new Promise((_resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    });
    return {};
  },
});

const fanout = defineTask({
  name: "flows.fanout",
  input: z.object({ n: z.number() }),
  result: z.object({}),
  async run(input, ctx) {
    const handles = await Promise.all(Array.from({ length: input.n }, () => ctx.spawn(worker, { depth: 1 })));
    await Promise.all(handles.map((h) => h.result()));
    return {};
  },
});

const bridge = (events: TaskEvent[]) =>
  events.filter((e) => e.name === "child").map((e) => e.data as ChildEventData);

describe("cancelling a parent", () => {
  it("cancels every active child and grandchild, then settles cancelled after the last of them", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 8 });
    taskflow.task(worker);
    const { taskId } = await taskflow.start(taskflow.task(fanout), { n: 3 });
    // 3 children (waiting on their own child) and 3 grandchildren running.
    await vi.waitFor(
      async () =>
        expect((await taskflow.list({ status: "running" })).length === 3, "grandchildren running").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const result = await taskflow.cancel(taskId);
    expect(result.outcome).toBe("requested");
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)?.name).toBe("cancelled");
    const all = await taskflow.list({ limit: 100 });
    expect(all).toHaveLength(7);
    for (const t of all) expect(t.status).toBe("cancelled");
    // The parent's terminal event comes after every child settled (its stream shows them first).
    const settled = bridge(events).filter((c) => c.status !== "queued");
    expect(settled).toHaveLength(3);
    expect(settled.every((c) => c.status === "cancelled")).toBe(true);
    // Intent first: the cancel request is recorded on each task of the tree.
    for (const t of all) expect(t.cancelRequestedAt).toBeInstanceOf(Date);
  });

  it("answers already_requested, already_finished and not_found", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(worker);
    const ref = taskflow.task(fanout);
    const { taskId } = await taskflow.start(ref, { n: 1 });
    await vi.waitFor(
      async () =>
        expect((await taskflow.list({ status: "running" })).length === 1, "grandchild running").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const first = await taskflow.cancel(taskId);
    const second = await taskflow.cancel(taskId);
    expect([first.outcome, second.outcome]).toEqual(["requested", "already_requested"]);
    await collect(taskflow, taskId);
    expect((await taskflow.cancel(taskId)).outcome).toBe("already_finished");
    await expect(taskflow.cancel("no-such-task")).rejects.toMatchObject({ code: "TASK_NOT_FOUND" });
  });

  it("still cancels active children of a parent that already finished", async () => {
    const leaver = defineTask({
      name: "flows.leaver",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await ctx.spawn(worker, { depth: 0 });
        throw new NonRetriableError("gave up without waiting for its child");
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(worker);
    const { taskId } = await taskflow.start(taskflow.task(leaver), {});
    expect((await collect(taskflow, taskId)).at(-1)?.name).toBe("failed");
    const [orphan] = await taskflow.list({ parentId: taskId });
    await vi.waitFor(
      async () =>
        expect((await taskflow.get(orphan!.taskId)).status === "running", "child running").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    expect((await taskflow.cancel(taskId)).outcome).toBe("already_finished");
    expect((await collect(taskflow, orphan!.taskId)).at(-1)?.name).toBe("cancelled");
  });

  it("fails a spawn made after the cancel request; a replayed spawn still returns its child", async () => {
    let spawned = 0;
    const late = defineTask({
      name: "flows.late",
      input: z.object({}),
      result: z.object({}),
      async run(_input, ctx) {
        await ctx.spawn(worker, { depth: 0 });
        spawned += 1;
        // Wait until the cancel is recorded, then try another spawn.
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        await ctx.spawn(worker, { depth: 0 });
        spawned += 1;
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(worker);
    const { taskId } = await taskflow.start(taskflow.task(late), {});
    await vi.waitFor(() => expect(spawned === 1, "first spawn").toBe(true), { timeout: 5000, interval: 5 });
    await taskflow.cancel(taskId);
    expect((await collect(taskflow, taskId)).at(-1)?.name).toBe("cancelled");
    expect(spawned).toBe(1);
    expect(await taskflow.list({ parentId: taskId })).toHaveLength(1);
  });
});

describe("recording the cancel intent", () => {
  it("retries a revision conflict against the fresh record instead of giving up silently", async () => {
    const inner = memoryStore();
    let conflicts = 2;
    const store = overridable(inner);
    store.requestCancel = (taskId, now, event) => {
      if (conflicts === 0) return inner.requestCancel(taskId, now, event);
      conflicts -= 1;
      return Promise.reject(new StoreConflictError(taskId, "the task changed during the cancel"));
    };
    const taskflow = await makeTaskflow(onTestFinished, { store });
    taskflow.task(worker);
    const { taskId } = await taskflow.start(taskflow.task(fanout), { n: 1 });
    await vi.waitFor(async () => expect((await taskflow.list({ status: "running" })).length).toBe(1), {
      timeout: 5000,
      interval: 5,
    });
    expect((await taskflow.cancel(taskId)).outcome).toBe("requested");
    expect(conflicts).toBe(0);
    expect((await collect(taskflow, taskId)).at(-1)?.name).toBe("cancelled");
  });
});
