import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import {
  type ChildEventData,
  defineTask,
  NonRetriableError,
  runInUserContext,
  type TaskEvent,
} from "../src/index";
import { collect, deferred, makeTaskflow } from "./helpers";

const gates = new Map<string, ReturnType<typeof deferred<void>>>();
const gate = (key: string) => {
  let d = gates.get(key);
  if (!d) {
    d = deferred<void>();
    gates.set(key, d);
  }
  return d;
};

const child = defineTask({
  name: "flows.child",
  input: z.object({ n: z.number(), gate: z.string().optional(), fail: z.boolean().optional() }),
  result: z.object({ doubled: z.number() }),
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    if (input.gate) await gate(input.gate).promise;
    if (input.fail) throw new NonRetriableError(`child ${input.n} broke`, { code: "CHILD_BROKE" });
    return { doubled: await ctx.step("double", () => input.n * 2) };
  },
});

let parentBodies = 0;
let beforeSpawns = 0;
const parent = defineTask({
  name: "flows.parent",
  input: z.object({ ns: z.array(z.number()), gate: z.string().optional() }),
  result: z.object({ sum: z.number(), ids: z.array(z.string()) }),
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    parentBodies += 1;
    await ctx.step("before", () => {
      beforeSpawns += 1;
    });
    const handles = await Promise.all(input.ns.map((n) => ctx.spawn(child, { n, gate: input.gate })));
    const results = await Promise.all(handles.map((h) => h.result()));
    return { sum: results.reduce((a, r) => a + r.doubled, 0), ids: handles.map((h) => h.taskId) };
  },
});

const childEvents = (events: TaskEvent[]) =>
  events.filter((e) => e.name === "child").map((e) => e.data as ChildEventData);

describe("ctx.spawn and handle.result()", () => {
  it("fans out, waits without a slot, fans in, and replays without a second child", async () => {
    parentBodies = 0;
    beforeSpawns = 0;
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 2 });
    taskflow.task(child);
    const ref = taskflow.task(parent);
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      taskflow.start(ref, { ns: [1, 2, 3], gate: "fan" }),
    );
    // The parent parks as `waiting` while its children are gated: it holds no slot (concurrency 2 still
    // lets two children run).
    await vi.waitFor(
      async () => expect((await taskflow.get(taskId)).status === "waiting", "parent waiting").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const children = await taskflow.list({ parentId: taskId });
    expect(children).toHaveLength(3);
    for (const c of children)
      expect(c).toMatchObject({ owner: "alice", parentId: taskId, task: "flows.child" });
    gate("fan").resolve();
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: { sum: 12 } } });
    // Exactly one `queued` and one settled `child` event per child, in the parent's gapless stream.
    const bridge = childEvents(events);
    expect(bridge.filter((c) => c.status === "queued")).toHaveLength(3);
    expect(bridge.filter((c) => c.status === "completed")).toHaveLength(3);
    expect(new Set(bridge.map((c) => c.taskId))).toEqual(new Set(children.map((c) => c.taskId)));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Woken at least once per settled child, replayed each time: never a second child, never a re-run step.
    expect(parentBodies).toBeGreaterThan(1);
    expect(beforeSpawns).toBe(1);
    expect(await taskflow.list({ parentId: taskId })).toHaveLength(3);
  });

  it("runs a parent waiting on 50 children with concurrency 2", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 2 });
    taskflow.task(child);
    const ref = taskflow.task(parent);
    const ns = Array.from({ length: 50 }, (_, i) => i);
    const { taskId } = await taskflow.start(ref, { ns });
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({
      name: "completed",
      data: { result: { sum: ns.reduce((a, n) => a + 2 * n, 0) } },
    });
    expect(await taskflow.list({ parentId: taskId, limit: 200 })).toHaveLength(50);
  });

  it("rejects result() with ChildTaskError (code CHILD_FAILED, the child's error in details)", async () => {
    const catcher = defineTask({
      name: "flows.catcher",
      input: z.object({}),
      result: z.object({ code: z.string(), childCode: z.string() }),
      async run(_input, ctx) {
        const h = await ctx.spawn(child, { n: 1, fail: true });
        try {
          await h.result();
          return { code: "none", childCode: "none" };
        } catch (error) {
          const e = error as { code: string; details: { error: { code: string } } };
          return { code: e.code, childCode: e.details.error.code };
        }
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(child);
    const { taskId } = await taskflow.start(taskflow.task(catcher), {});
    const events = await collect(taskflow, taskId);
    expect(events.at(-1)).toMatchObject({
      name: "completed",
      data: { result: { code: "CHILD_FAILED", childCode: "CHILD_BROKE" } },
    });
    expect(childEvents(events).map((c) => c.status)).toEqual(["queued", "failed"]);
  });

  it("keys spawns by task name and occurrence, or by the given key", async () => {
    const keyed = defineTask({
      name: "flows.keyed",
      input: z.object({}),
      result: z.object({ a: z.number(), b: z.number() }),
      async run(_input, ctx) {
        const a = await ctx.spawn(child, { n: 1 }, { key: "first" });
        const b = await ctx.spawn(child, { n: 2 });
        return { a: (await a.result()).doubled, b: (await b.result()).doubled };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(child);
    const { taskId } = await taskflow.start(taskflow.task(keyed), {});
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({ data: { result: { a: 2, b: 4 } } });
    const history = await taskflow.store.loadHistory(taskId);
    expect(history.steps.map((s) => s.key)).toEqual([
      "spawn:first#0",
      "spawn:flows.child#0",
      "result:spawn:first#0#0",
      "result:spawn:flows.child#0#0",
    ]);
  });

  it("refuses spawn and waits inside a step body", async () => {
    const misuse = defineTask({
      name: "flows.misuse",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await ctx.step("inner", () => ctx.spawn(child, { n: 1 }));
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(child);
    const { taskId } = await taskflow.start(taskflow.task(misuse), {});
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({
      name: "failed",
      data: { error: { code: "INVALID_DEFINITION" } },
    });
  });

  it("does not let a start name a parent (no task can get a parent owned by someone else)", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(child);
    const { taskId } = await taskflow.start(ref, { n: 1 }, { parentId: "someone-elses" } as never);
    expect((await taskflow.get(taskId)).parentId).toBeUndefined();
  });
});

describe("ChildTaskError", () => {
  it("does not carry a child's internal error message into the parent's (unmasked) error", async () => {
    const leaky = defineTask({
      name: "flows.leaky",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 1 },
      run: () => {
        throw new Error("connect ECONNREFUSED 10.0.0.7:5432");
      },
    });
    const waiter = defineTask({
      name: "flows.waiter",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await (await ctx.spawn(leaky, {})).result();
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(leaky);
    const { taskId } = await taskflow.start(taskflow.task(waiter), {});
    const last = (await collect(taskflow, taskId)).at(-1);
    expect(last).toMatchObject({ name: "failed", data: { error: { code: "CHILD_FAILED" } } });
    expect(JSON.stringify(last)).not.toContain("ECONNREFUSED");
    const snapshot = await taskflow.get(taskId);
    expect(JSON.stringify(snapshot.error)).not.toContain("ECONNREFUSED");
  });
});
