import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask, memoryStore, step } from "../src/index";
import { collect, crashableStore, deferred, makeTaskflow } from "./helpers";

/** Counts executions of every step body, keyed by name. */
function counter() {
  const counts = new Map<string, number>();
  return {
    counts,
    hit: (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1),
    get: (key: string) => counts.get(key) ?? 0,
  };
}

describe("replay after a crash", () => {
  it("resumes on another worker from the last checkpoint: completed steps never re-run, events never repeat", async () => {
    const runs = counter();
    const gate = deferred();
    const reachedB = deferred();
    const makeDef = (blockAtB: boolean) =>
      defineTask({
        name: "crash.resume",
        input: z.object({}),
        result: z.object({ a: z.number(), b: z.number() }),
        events: { tick: z.object({ n: z.number() }) },
        async run(_input, ctx) {
          ctx.emit("tick", { n: 1 });
          const a = await ctx.step("a", () => {
            runs.hit("a");
            return 41;
          });
          ctx.emit("tick", { n: 2 });
          const b = await ctx.step("b", async () => {
            runs.hit("b");
            if (blockAtB) {
              reachedB.resolve();
              await gate.promise; // the "process" dies while this step is in flight
            }
            return a + 1;
          });
          ctx.emit("tick", { n: 3 });
          return { a, b };
        },
      });
    const shared = memoryStore();
    const doomed = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, { store: doomed.store, leaseMs: 150 });
    const ref = first.task(makeDef(true));
    const { taskId } = await first.start(ref, {});
    await reachedB.promise;
    doomed.crash();

    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 150 });
    second.task(makeDef(false));
    const events = await collect(second, taskId);
    expect(events.map((e) => e.name)).toEqual(["tick", "tick", "tick", "completed"]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)?.data).toEqual({ result: { a: 41, b: 42 } });
    expect(runs.get("a")).toBe(1); // completed checkpoint: exactly once
    expect(runs.get("b")).toBe(2); // in flight at the crash: at-least-once
    const task = await shared.getTask(taskId);
    expect(task?.claims).toBe(2);
  });

  it("gives repeated steps occurrence keys and replays module-scope steps", async () => {
    const runs = counter();
    const square = step("square", async (n: number) => {
      runs.hit(`square${n}`);
      return n * n;
    });
    const seen: string[] = [];
    const gate = deferred();
    const def = (block: boolean) =>
      defineTask({
        name: "crash.occurrence",
        input: z.object({ n: z.number() }),
        result: z.object({ total: z.number() }),
        async run(input) {
          let total = 0;
          for (let i = 1; i <= input.n; i++) {
            total += await square(i);
            if (block && i === 2) await gate.promise;
          }
          return { total };
        },
      });
    const shared = memoryStore();
    const doomed = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, { store: doomed.store, leaseMs: 150 });
    const { taskId } = await first.start(first.task(def(true)), { n: 3 });
    await vi.waitFor(
      async () => expect((await shared.loadHistory(taskId)).steps, "two checkpoints").toHaveLength(2),
      { timeout: 5000, interval: 5 },
    );
    doomed.crash();
    const history = await shared.loadHistory(taskId);
    seen.push(...history.steps.map((s) => s.key));
    expect(seen).toEqual(["square#0", "square#1"]);
    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 150 });
    second.task(def(false));
    const events = await collect(second, taskId);
    expect(events.at(-1)?.data).toEqual({ result: { total: 14 } });
    expect([runs.get("square1"), runs.get("square2"), runs.get("square3")]).toEqual([1, 1, 1]);
  });

  it("fails with NonDeterminismError showing expected vs recorded when the step order changed", async () => {
    const gate = deferred();
    const def = (names: string[], block: boolean) =>
      defineTask({
        name: "crash.nondeterminism",
        input: z.object({}),
        result: z.object({}),
        async run(_input, ctx) {
          for (const [i, name] of names.entries()) {
            await ctx.step(name, () => i);
            if (block && i === 1) await gate.promise;
          }
          return {};
        },
      });
    const shared = memoryStore();
    const doomed = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, { store: doomed.store, leaseMs: 150 });
    const { taskId } = await first.start(first.task(def(["load", "render", "save"], true)), {});
    await vi.waitFor(
      async () => expect((await shared.loadHistory(taskId)).steps, "two checkpoints").toHaveLength(2),
      { timeout: 5000, interval: 5 },
    );
    doomed.crash();
    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 150 });
    second.task(def(["load", "upload", "save"], false));
    const events = await collect(second, taskId);
    const failed = events.at(-1);
    expect(failed?.name).toBe("failed");
    expect(failed?.data).toMatchObject({ error: { code: "NON_DETERMINISM" } });
    const message = (failed!.data as { error: { message: string } }).error.message;
    expect(message).toContain('"upload#0"');
    expect(message).toContain('"render#0"');
    expect((await second.get(taskId)).attempt).toBe(1); // not retried
  });

  it("skips the emit positions of a replayed step body, so events inside steps are not duplicated", async () => {
    const gate = deferred();
    const def = (block: boolean) =>
      defineTask({
        name: "crash.emit-in-step",
        input: z.object({}),
        result: z.object({}),
        events: { note: z.object({ text: z.string() }) },
        async run(_input, ctx) {
          await ctx.step("one", () => {
            ctx.emit("note", { text: "inside one" });
            return 1;
          });
          ctx.emit("note", { text: "after one" });
          await ctx.step("two", async () => {
            if (block) await gate.promise;
            return 2;
          });
          ctx.emit("note", { text: "after two" });
          return {};
        },
      });
    const shared = memoryStore();
    const doomed = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, { store: doomed.store, leaseMs: 150 });
    const { taskId } = await first.start(first.task(def(true)), {});
    await vi.waitFor(async () => expect((await shared.getTask(taskId))?.lastSeq, "two events").toBe(2), {
      timeout: 5000,
      interval: 5,
    });
    doomed.crash();
    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 150 });
    second.task(def(false));
    const events = await collect(second, taskId);
    expect(events.map((e) => (e.name === "note" ? (e.data as { text: string }).text : e.name))).toEqual([
      "inside one",
      "after one",
      "after two",
      "completed",
    ]);
  });

  it("round-trips BigInt and Date through step results, events and the result", async () => {
    const def = defineTask({
      name: "codec.values",
      input: z.object({ big: z.bigint(), when: z.date() }),
      result: z.object({ big: z.bigint(), when: z.date() }),
      events: { stamp: z.object({ at: z.date() }) },
      async run(input, ctx) {
        const doubled = await ctx.step("double", () => input.big * 2n);
        expect(typeof doubled).toBe("bigint");
        ctx.emit("stamp", { at: input.when });
        return { big: doubled, when: input.when };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const when = new Date("2026-01-02T03:04:05.006Z");
    const { taskId } = await taskflow.start(taskflow.task(def), { big: 2n ** 70n, when });
    const events = await collect(taskflow, taskId);
    expect((events[0]!.data as { at: Date }).at).toEqual(when);
    expect(events[1]?.data).toEqual({ result: { big: 2n ** 71n, when } });
  });
});
