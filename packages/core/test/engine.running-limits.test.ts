import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask, isTaskwireError, memoryStore, runInUserContext, type Taskflow } from "../src/index";
import { makeTaskflow } from "./helpers";

/** Counts the task bodies running at once, in all and per owner, and keeps the highest counts seen. */
function gauge() {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  return {
    peak: (key = "*") => peak.get(key) ?? 0,
    enter(owner: string) {
      for (const key of ["*", owner]) {
        now.set(key, (now.get(key) ?? 0) + 1);
        peak.set(key, Math.max(peak.get(key) ?? 0, now.get(key)!));
      }
    },
    leave(owner: string) {
      for (const key of ["*", owner]) now.set(key, now.get(key)! - 1);
    },
  };
}

/** A task whose body holds its slot for `ms` real milliseconds and is counted by `g`. */
function held(name: string, g: ReturnType<typeof gauge>, concurrency?: { max?: number; perOwner?: number }) {
  return defineTask({
    name,
    input: z.object({ ms: z.number() }),
    result: z.boolean(),
    concurrency,
    async run(input, ctx) {
      g.enter(ctx.user.userId);
      await new Promise((resolve) => setTimeout(resolve, input.ms));
      g.leave(ctx.user.userId);
      return true;
    },
  });
}

/** Starts `count` tasks as `owner` and resolves when all of them completed. */
async function runAll(taskflow: Taskflow, def: ReturnType<typeof held>, owner: string, count: number) {
  const ids = await runInUserContext({ userId: owner }, () =>
    Promise.all(Array.from({ length: count }, () => taskflow.start(def, { ms: 10 }))),
  );
  for (const { taskId } of ids) {
    for await (const _ of taskflow.subscribe(taskId)); // ends after the terminal event
    expect((await taskflow.get(taskId)).status).toBe("completed");
  }
}

describe("running caps (engine)", () => {
  it("limits.maxRunning caps the bodies running at once, though the worker has 16 slots", async () => {
    const g = gauge();
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 16, limits: { maxRunning: 3 } });
    const def = held("caps.global", g);
    taskflow.task(def);
    await runAll(taskflow, def, "alice", 12);
    expect(g.peak()).toBe(3);
  });

  it("limits.maxRunningPerOwner: one owner's backlog takes one slot, the other owner runs beside it", async () => {
    const g = gauge();
    const taskflow = await makeTaskflow(onTestFinished, {
      concurrency: 16,
      limits: { maxRunningPerOwner: 1 },
    });
    const def = held("caps.owner", g);
    taskflow.task(def);
    await Promise.all([runAll(taskflow, def, "alice", 6), runAll(taskflow, def, "bob", 6)]);
    expect(g.peak("alice")).toBe(1);
    expect(g.peak("bob")).toBe(1);
    expect(g.peak()).toBe(2);
  });

  it("defineTask({ concurrency }) caps that task only; an uncapped task runs beside it freely", async () => {
    const [capped, free] = [gauge(), gauge()];
    const taskflow = await makeTaskflow(onTestFinished, { concurrency: 16, store: memoryStore() });
    const slow = held("caps.slow", capped, { max: 2 });
    const fast = held("caps.fast", free);
    taskflow.task(slow);
    taskflow.task(fast);
    await Promise.all([runAll(taskflow, slow, "alice", 8), runAll(taskflow, fast, "alice", 8)]);
    expect(capped.peak()).toBe(2);
    expect(free.peak()).toBeGreaterThan(2);
  });

  it("rejects a bad cap naming the field", async () => {
    const bad = await makeTaskflow(onTestFinished, { limits: { maxRunning: 0 } }).catch((e: unknown) => e);
    expect(isTaskwireError(bad, "VALIDATION_ERROR")).toBe(true);
    expect(JSON.stringify((bad as { details: unknown }).details)).toContain("maxRunning");
    expect(() => held("caps.bad", gauge(), { perOwner: 1.5 })).toThrow(/concurrency\.perOwner/);
  });
});
