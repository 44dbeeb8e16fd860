import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask, isTaskwireError, memoryStore, runInUserContext } from "../src/index";
import { makeTaskflow } from "./helpers";

const job = defineTask({
  name: "priority.job",
  input: z.object({ i: z.number(), who: z.string() }),
  result: z.object({}),
  async run(input) {
    started.push(input);
    return {};
  },
});
let started: Array<{ i: number; who: string }> = [];

/** Queues one start of `job` as `who` (input `i`), at `priority`. */
type Queue = (who: string, i: number, priority?: number) => Promise<unknown>;

/** A store filled by a taskflow without a worker, then a worker taskflow over it (`concurrency`). */
async function queueThenWork(concurrency: number, fill: (queue: Queue) => Promise<void>) {
  started = [];
  const store = memoryStore();
  const producer = await makeTaskflow(onTestFinished, { store, worker: false });
  const ref = producer.task(job);
  const queue: Queue = (who, i, priority) =>
    runInUserContext({ userId: who }, () => producer.start(ref, { i, who }, { priority }));
  await fill(queue);
  const worker = await makeTaskflow(onTestFinished, { store, concurrency });
  worker.task(job);
  return worker;
}

describe("start priority", () => {
  it.each([11, -11, 1.5])(
    "rejects priority %s with a ValidationError naming priority, creating nothing",
    async (priority) => {
      const taskflow = await makeTaskflow(onTestFinished);
      const ref = taskflow.task(job);
      const error = await taskflow.start(ref, { i: 0, who: "x" }, { priority }).catch((e: unknown) => e);
      expect(isTaskwireError(error, "VALIDATION_ERROR")).toBe(true);
      expect((error as { issues: Array<{ path: string }> }).issues[0]?.path).toBe("priority");
      expect(await taskflow.list()).toEqual([]);
    },
  );

  it("runs a high-priority task queued behind 200 low ones next", async () => {
    await queueThenWork(1, async (queue) => {
      for (let i = 0; i < 200; i++) await queue("alice", i);
      await queue("alice", 999, 10);
    });
    await vi.waitFor(() => expect(started.length).toBeGreaterThan(0));
    expect(started[0]?.i).toBe(999);
  });

  it("gives a child the priority its spawn asks for, and 0 otherwise", async () => {
    const parent = defineTask({
      name: "priority.parent",
      input: z.object({}),
      result: z.object({ ids: z.array(z.string()) }),
      async run(_input, ctx) {
        const urgent = await ctx.spawn(job, { i: 1, who: "c" }, { priority: 3 });
        const plain = await ctx.spawn(job, { i: 2, who: "c" });
        return { ids: [urgent.taskId, plain.taskId] };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    taskflow.task(job);
    const { taskId } = await taskflow.start(taskflow.task(parent), {});
    await vi.waitFor(async () => expect(await taskflow.list({ parentId: taskId })).toHaveLength(2));
    const children = await taskflow.store.listTasks({ parentId: taskId });
    const byInput = (i: number) => children.find((c) => c.input.includes(`"i":${i}`));
    expect(byInput(1)?.priority).toBe(3);
    expect(byInput(2)?.priority).toBe(0);
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"));
  });
});

describe("fair claim order by owner", () => {
  it("two owners with 100 queued tasks each, concurrency 4: neither waits for all of the other's", async () => {
    await queueThenWork(4, async (queue) => {
      for (let i = 0; i < 100; i++) await queue("alice", i);
      for (let i = 0; i < 100; i++) await queue("bob", i);
    });
    await vi.waitFor(() => expect(started.length).toBe(200));
    const first8 = started.slice(0, 8).map((s) => s.who);
    expect(first8.filter((w) => w === "alice").length).toBeGreaterThanOrEqual(3);
    expect(first8.filter((w) => w === "bob").length).toBeGreaterThanOrEqual(3);
    // Bob's last task does not wait for all of Alice's: they finish within a few turns of each other.
    const lastBob = started.findLastIndex((s) => s.who === "bob");
    const lastAlice = started.findLastIndex((s) => s.who === "alice");
    expect(Math.abs(lastBob - lastAlice)).toBeLessThan(8);
  });
});
