import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { systemClock } from "../src/clock/clock";
import { defineTask, isTaskwireError, memoryStore, step } from "../src/index";
import { collect, deferred, makeTaskflow } from "./helpers";

const fetchRows = step("fetchRows", async (n: number) => Array.from({ length: n }, (_, i) => i));

const report = defineTask({
  name: "reports.generate",
  input: z.object({ rows: z.number().int().positive(), label: z.string().default("r") }),
  result: z.object({ sum: z.number(), label: z.string() }),
  events: { progress: z.object({ done: z.number(), total: z.number() }) },
  async run(input, ctx) {
    const rows = await fetchRows(input.rows);
    ctx.emit("progress", { done: 1, total: 2 });
    const sum = await ctx.step("sum", () => rows.reduce((a, b) => a + b, 0));
    ctx.emit("progress", { done: 2, total: 2 });
    return { sum, label: input.label };
  },
});

describe("engine basics", () => {
  it("runs a task to completion and streams its events with seq 1..n", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(report);
    const { taskId, created } = await taskflow.start(ref, { rows: 4 });
    expect(created).toBe(true);
    const events = await collect(taskflow, taskId);
    expect(events.map((e) => [e.seq, e.name])).toEqual([
      [1, "progress"],
      [2, "progress"],
      [3, "completed"],
    ]);
    expect(events[2]?.data).toEqual({ result: { sum: 6, label: "r" } });
    const snapshot = await taskflow.get(taskId);
    expect(snapshot).toMatchObject({
      status: "completed",
      lastSeq: 3,
      result: { sum: 6, label: "r" },
      task: "reports.generate",
    });
  });

  it("replays from afterSeq and ends at once past the terminal event", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(report), { rows: 2 });
    await collect(taskflow, taskId);
    expect((await collect(taskflow, taskId, 1)).map((e) => e.seq)).toEqual([2, 3]);
    expect(await collect(taskflow, taskId, 3)).toEqual([]);
    // Not a non-negative integer: from the start, as for a malformed Last-Event-ID.
    expect((await collect(taskflow, taskId, Number.NaN)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await collect(taskflow, taskId, -5)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("ends a subscription whose cursor is past the end of a running task once that task finishes", async () => {
    const gate = deferred();
    const slow = defineTask({
      name: "reports.slow",
      input: z.object({}),
      result: z.object({}),
      async run() {
        await gate.promise;
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(slow), {});
    const pending = collect(taskflow, taskId, 99); // e.g. a bogus Last-Event-ID
    gate.resolve();
    expect(await pending).toEqual([]);
    expect((await taskflow.get(taskId)).status).toBe("completed");
  });

  it("rejects invalid input with a ValidationError naming the field, and stores nothing", async () => {
    const store = memoryStore();
    const taskflow = await makeTaskflow(onTestFinished, { store });
    const ref = taskflow.task(report);
    const error = await taskflow.start(ref, { rows: -1 }).catch((e: unknown) => e);
    expect(isTaskwireError(error, "VALIDATION_ERROR")).toBe(true);
    expect((error as Error).message).toContain('"rows"');
    expect((error as { issues: { path: string }[] }).issues[0]?.path).toBe("rows");
    expect(await store.listTasks()).toEqual([]);
  });

  it("validates event payloads when emitted and results when returned", async () => {
    const bad = defineTask({
      name: "bad.event",
      input: z.object({ mode: z.enum(["event", "result"]) }),
      result: z.object({ ok: z.boolean() }),
      events: { tick: z.object({ n: z.number() }) },
      retry: { maxAttempts: 1 },
      async run(input, ctx) {
        // @ts-expect-error wrong payload type is a compile error
        if (input.mode === "event") ctx.emit("tick", { n: "x" });
        return { ok: "yes" as unknown as boolean }; // smuggled past the compiler to test run-time validation
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(bad);
    for (const mode of ["event", "result"] as const) {
      const { taskId } = await taskflow.start(ref, { mode });
      const events = await collect(taskflow, taskId);
      const last = events.at(-1);
      expect(last?.name).toBe("failed");
      expect(last?.data).toMatchObject({ error: { code: "VALIDATION_ERROR" } });
      expect((last!.data as { error: { message: string } }).error.message).toContain(
        mode === "event" ? '"n"' : '"ok"',
      );
    }
  });

  it("rejects reserved or malformed event names at definition time", () => {
    for (const name of ["completed", "error", "ready", "bad name", "x\nid: 9", ""]) {
      expect(() =>
        defineTask({
          name: "t.events",
          input: z.object({}),
          result: z.object({}),
          events: { [name]: z.object({}) },
          run: async () => ({}),
        }),
      ).toThrow(/Event name/);
    }
  });

  it("throws DuplicateTaskError in production and replaces with a warning otherwise", async () => {
    const prod = await makeTaskflow(onTestFinished, { production: true });
    prod.task(report);
    const again = defineTask({ ...report, run: report.run });
    expect(() => prod.task(again)).toThrow(expect.objectContaining({ code: "DUPLICATE_TASK" }));
    const dev = await makeTaskflow(onTestFinished, { production: false });
    dev.task(report);
    expect(dev.task(again).definition).toBe(again);
    expect(dev.hasTask("reports.generate")).toBe(true);
    expect(dev.getRegistration("reports.generate").definition).toBe(again);
    expect(() => dev.getRegistration("nope")).toThrow(expect.objectContaining({ code: "UNKNOWN_TASK" }));
  });

  it("lists tasks newest first", async () => {
    let clock = 1_000;
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      clock: { ...systemClock, now: () => clock++ },
    });
    const ref = taskflow.task(report);
    const a = await taskflow.start(ref, { rows: 1 });
    const b = await taskflow.start(ref, { rows: 2 });
    const listed = await taskflow.list({ name: "reports.generate" });
    expect(listed.map((t) => t.taskId)).toEqual([b.taskId, a.taskId]);
    expect(listed[0]?.status).toBe("queued");
  });
});
