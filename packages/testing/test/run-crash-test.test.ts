import { createTaskflow, defineTask, memoryStore } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { type CrashPoint, createFakeClock, dyingStore, runCrashTest } from "@taskwire/testing";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";

/** Executions of each step body (and of the code outside steps), counted outside the store. */
let runs: Record<string, number> = {};
const count = (what: string) => {
  runs[what] = (runs[what] ?? 0) + 1;
};

/** Three checkpoints with an event after each; the code outside steps counts its runs too. */
const pipeline = defineTask({
  name: "crash.pipeline",
  input: z.object({ n: z.number().int() }),
  result: z.object({ total: z.number(), user: z.string() }),
  events: { progress: z.object({ done: z.number() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    count("body");
    let total = 0;
    for (const name of ["load", "render", "upload"]) {
      total += await ctx.step(name, () => {
        count(name);
        return input.n;
      });
      ctx.emit("progress", { done: total });
    }
    return { total, user: ctx.user.userId };
  },
});

const crash = (at: CrashPoint, extra: Partial<Parameters<typeof runCrashTest>[0]> = {}) => {
  runs = {};
  return runCrashTest({ task: pipeline, input: { n: 2 }, at, ...extra });
};

describe("runCrashTest", () => {
  it("after a completed checkpoint: the resumed run replays it and never runs it again", async () => {
    const result = await crash("after-step:render");
    expect(result.atCrash).toMatchObject({ status: "running", steps: ["load#0", "render#0"], lastSeq: 1 });
    expect(result.snapshot).toMatchObject({ status: "completed", result: { total: 6, user: "service" } });
    expect(runs).toEqual({ body: 2, load: 1, render: 1, upload: 1 });
    expect(result.steps).toEqual(["load#0", "render#0", "upload#0"]);
    expect(result.events.map((e) => [e.seq, e.name, e.data])).toEqual([
      [1, "progress", { done: 2 }],
      [2, "progress", { done: 4 }],
      [3, "progress", { done: 6 }],
      [4, "completed", { result: { total: 6, user: "service" } }],
    ]);
  });

  it("with a step in flight: only that step runs twice (at-least-once inside a step)", async () => {
    const result = await crash("before-step:render");
    expect(result.atCrash.steps).toEqual(["load#0"]);
    expect(result.snapshot.status).toBe("completed");
    expect(runs).toEqual({ body: 2, load: 1, render: 2, upload: 1 });
  });

  it("around events: the resumed run emits none twice and none is lost", async () => {
    // Event 2 is made durable just before the next checkpoint, after `upload`'s body ran: dying before it
    // lands leaves `upload` in flight.
    for (const [at, lastSeq, uploads] of [
      ["before-event:2", 1, 2],
      ["after-event:2", 2, 2],
      ["after-event:3", 3, 1],
    ] as const) {
      const result = await crash(at);
      expect(result.atCrash.lastSeq, at).toBe(lastSeq);
      expect(
        result.events.map((e) => e.seq),
        at,
      ).toEqual([1, 2, 3, 4]);
      expect(runs, at).toEqual({ body: 2, load: 1, render: 1, upload: uploads });
    }
  });

  it("before the settlement: everything is replayed, nothing re-run, and the task settles once", async () => {
    const result = await crash("before-settle");
    expect(result.atCrash).toMatchObject({ status: "running", lastSeq: 3 });
    expect(runs).toEqual({ body: 2, load: 1, render: 1, upload: 1 });
    expect(result.events.filter((e) => e.name === "completed")).toHaveLength(1);
  });

  it("catches a side effect written outside a step: it runs again on resume", async () => {
    let emails = 0;
    const careless = defineTask({
      name: "crash.careless",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      async run(_input, ctx) {
        emails += 1; // should have been a step
        await ctx.step("charge", () => true);
        return { ok: await ctx.step("ship", () => true) };
      },
    });
    await runCrashTest({ task: careless, input: {}, at: "after-step:charge" });
    expect(emails).toBe(2);
  });

  it("resumes as the task's owner", async () => {
    const result = await crash("after-step:load", { user: { userId: "alice" } });
    expect(result.snapshot).toMatchObject({ owner: "alice", result: { user: "alice" } });
  });

  it("works on a SQLite store shared by both lives, which stays open for inspection", async () => {
    const store = sqliteStore({ path: ":memory:" });
    onTestFinished(() => store.close());
    const clock = createFakeClock();
    const result = await crash("before-step:upload", { store, clock, leaseMs: 5000 });
    expect(runs).toEqual({ body: 2, load: 1, render: 1, upload: 2 });
    expect(result.snapshot.status).toBe("completed");
    expect((await store.getTask(result.taskId))?.status).toBe("completed");
    expect(clock.now()).toBeGreaterThan(Date.UTC(2025, 0, 1) + 5000);
  });

  it("fails loudly when the point is never reached or does not parse", async () => {
    await expect(crash("after-step:nothing")).rejects.toThrow(
      'Crash point "after-step:nothing" was never reached: the task settled completed',
    );
    await expect(crash("after-event:0")).rejects.toThrow(TypeError);
    await expect(crash("sometime" as CrashPoint)).rejects.toThrow(/Unknown crash point/);
  });

  it("leaves a memory store it was given open", async () => {
    const store = memoryStore();
    const result = await crash("after-step:load", { store });
    expect((await store.getTask(result.taskId))?.status).toBe("completed");
  });
});

describe("dyingStore", () => {
  it("lets writes before the point land and none after it, so a second taskflow takes over", async () => {
    const shared = memoryStore();
    await shared.open();
    const clock = createFakeClock();
    const dying = dyingStore(shared, "after-step:load");
    const doomed = await createTaskflow({ store: dying.store, clock, leaseMs: 1000 });
    runs = {};
    const { taskId } = await doomed.start(doomed.task(pipeline), { n: 1 });
    await dying.dead;
    expect(dying.isDead()).toBe(true);
    expect((await shared.loadHistory(taskId)).steps.map((s) => s.key)).toEqual(["load#0"]);
    expect((await shared.getTask(taskId))?.status).toBe("running");

    await clock.advance(1001);
    const survivor = await createTaskflow({ store: shared, clock, leaseMs: 1000 });
    onTestFinished(() => survivor.shutdown());
    survivor.task(pipeline);
    const events = [];
    for await (const event of survivor.subscribe(taskId)) events.push(event.name);
    expect(events).toEqual(["progress", "progress", "progress", "completed"]);
    expect(runs).toEqual({ body: 2, load: 1, render: 1, upload: 1 });
  });
});
