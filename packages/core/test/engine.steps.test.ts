import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

const texts = (events: Array<{ name: string; data: unknown }>) =>
  events.map((e) => (e.name === "completed" ? "completed" : (e.data as { t: string }).t));

describe("events emitted by a step body that failed before", () => {
  it("a step retried in-process: later emits go after everything its failed attempt made durable", async () => {
    let attempts = 0;
    const def = defineTask({
      name: "steps.retry-emits",
      input: z.object({}),
      result: z.object({}),
      events: { note: z.object({ t: z.string() }) },
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await ctx.step(
          "flaky",
          () => {
            attempts++;
            if (attempts === 1) {
              ctx.emit("note", { t: "first try 1" });
              ctx.emit("note", { t: "first try 2" });
              throw new Error("transient");
            }
            ctx.emit("note", { t: "second try" }); // same position as "first try 1": deduplicated
          },
          { retry: { maxAttempts: 2, initialDelayMs: 1 } },
        );
        ctx.emit("note", { t: "after" });
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    expect(texts(await collect(taskflow, taskId))).toEqual([
      "first try 1",
      "first try 2",
      "after",
      "completed",
    ]);
    expect((await taskflow.store.loadHistory(taskId)).steps.map((s) => s.emits)).toEqual([2]);
  });

  it("a task retried after its step emitted and failed: the next attempt replays cleanly", async () => {
    let attempts = 0;
    const def = defineTask({
      name: "steps.task-retry-emits",
      input: z.object({}),
      result: z.object({}),
      events: { note: z.object({ t: z.string() }), done: z.object({ t: z.string() }) },
      retry: { maxAttempts: 2, initialDelayMs: 5, jitter: false },
      async run(_input, ctx) {
        await ctx.step("flaky", () => {
          attempts++;
          ctx.emit("note", { t: `attempt ${attempts} a` });
          if (attempts === 1) {
            ctx.emit("note", { t: "attempt 1 b" });
            throw new Error("transient");
          }
        });
        ctx.emit("done", { t: "done" });
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    expect(texts(await collect(taskflow, taskId))).toEqual([
      "attempt 1 a",
      "attempt 1 b",
      "done",
      "completed",
    ]);
  });
});

describe("steps nested in a step body", () => {
  it("run inline for ctx.step too: only the outer step is a checkpoint", async () => {
    const def = defineTask({
      name: "steps.nested-ctx",
      input: z.object({}),
      result: z.object({ v: z.number() }),
      async run(_input, ctx) {
        const v = await ctx.step("outer", async () => (await ctx.step("inner", () => 1)) + 1);
        await ctx.step("after", () => v);
        return { v };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    expect((await collect(taskflow, taskId)).at(-1)?.data).toEqual({ result: { v: 2 } });
    expect((await taskflow.store.loadHistory(taskId)).steps.map((s) => s.key)).toEqual([
      "outer#0",
      "after#0",
    ]);
  });
});
