import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask, memoryStore, StoreConflictError, type TaskStore } from "../src/index";
import { collect, makeTaskflow, overridable } from "./helpers";

const def = defineTask({
  name: "slots.quick",
  input: z.object({ i: z.number() }),
  result: z.object({ i: z.number() }),
  run: async (input) => ({ i: input.i }),
});

/** A memory store whose `createTask` can be told to fail, and which counts tasks created already claimed. */
function flakyCreates(): { store: TaskStore; failNext: () => void; claimedAtCreate: () => number } {
  const inner = memoryStore();
  let fail = false;
  let claimed = 0;
  const store = overridable(inner);
  store.createTask = async (spec) => {
    if (fail) {
      fail = false;
      throw new Error("disk full");
    }
    const result = await inner.createTask(spec);
    if (result.created && result.lease) claimed += 1;
    return result;
  };
  return { store, failNext: () => (fail = true), claimedAtCreate: () => claimed };
}

describe("worker slot reservations in start", () => {
  it("gives the slot back when the store rejects the create", async () => {
    const { store, failNext, claimedAtCreate } = flakyCreates();
    const taskflow = await makeTaskflow(onTestFinished, { store, concurrency: 1 });
    const ref = taskflow.task(def);
    for (let i = 0; i < 3; i++) {
      failNext();
      await expect(taskflow.start(ref, { i })).rejects.toThrow("disk full");
    }
    // Had any failed start kept its reservation, the single slot would be gone: no claim at create, and
    // the worker (its slot reserved forever) could never run the task either.
    const { taskId } = await taskflow.start(ref, { i: 7 });
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({ name: "completed" });
    expect(claimedAtCreate()).toBe(1);
  });

  it("gives the slot back when a start attaches to an existing run or is refused", async () => {
    const { store, claimedAtCreate } = flakyCreates();
    const taskflow = await makeTaskflow(onTestFinished, { store, concurrency: 1 });
    const ref = taskflow.task(def);
    const first = await taskflow.start(ref, { i: 1 }, { idempotencyKey: "k" });
    await collect(taskflow, first.taskId);
    for (let i = 0; i < 3; i++) {
      expect((await taskflow.start(ref, { i: 1 }, { idempotencyKey: "k" })).created).toBe(false);
      await expect(taskflow.start(ref, { i: 2 }, { idempotencyKey: "k" })).rejects.toMatchObject({
        code: "IDEMPOTENCY_CONFLICT",
      });
    }
    const { taskId } = await taskflow.start(ref, { i: 3 });
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({ name: "completed" });
    expect(claimedAtCreate()).toBe(2); // both real starts ran in the reserved slot
  });

  it("rejects a start whose input is invalid without reserving anything", async () => {
    const { store, claimedAtCreate } = flakyCreates();
    const taskflow = await makeTaskflow(onTestFinished, { store, concurrency: 1 });
    const ref = taskflow.task(def);
    await expect(taskflow.start(ref, { i: "x" } as never)).rejects.toMatchObject({
      code: "VALIDATION_ERROR",
    });
    const { taskId } = await taskflow.start(ref, { i: 3 });
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({ name: "completed" });
    expect(claimedAtCreate()).toBe(1);
  });
});

describe("subscribe against a broken store", () => {
  it("fails loudly when the store returns events out of order instead of spinning", async () => {
    const inner = memoryStore();
    const store = overridable(inner);
    const taskflow = await makeTaskflow(onTestFinished, { store });
    const chatty = defineTask({
      name: "slots.chatty",
      input: z.object({}),
      result: z.object({}),
      events: { tick: z.object({ n: z.number() }) },
      run: (_input, ctx) => {
        ctx.emit("tick", { n: 1 });
        ctx.emit("tick", { n: 2 });
        return {};
      },
    });
    const { taskId } = await taskflow.start(taskflow.task(chatty), {});
    expect(await collect(taskflow, taskId)).toHaveLength(3);
    // A store that skips seq 1 (a gap): a batch-sized read that would otherwise be re-read forever.
    store.readEvents = async (id, afterSeq, limit) =>
      (await inner.readEvents(id, afterSeq, limit + 1)).filter((e) => e.seq !== afterSeq + 1);
    const iterate = async () => {
      for await (const _ of taskflow.subscribe(taskId, { batchSize: 1 })) {
        // drain
      }
    };
    await expect(iterate()).rejects.toMatchObject({
      code: "INTERNAL",
      details: { taskId, expected: 1, got: 2 },
    });
  });
});

describe("a fenced write refused while the lease is held", () => {
  it("fails the run (it is not a lost lease: reclaiming would meet the same conflict forever)", async () => {
    const inner = memoryStore();
    const store = overridable(inner);
    store.appendStep = async (lease) => {
      throw new StoreConflictError(lease.taskId, "step #0 is already recorded");
    };
    const stepper = defineTask({
      name: "slots.stepper",
      input: z.object({}),
      result: z.object({}),
      retry: { maxAttempts: 1 },
      async run(_input, ctx) {
        await ctx.step("one", () => 1);
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished, { store, leaseMs: 60_000 });
    const { taskId } = await taskflow.start(taskflow.task(stepper), {});
    expect((await collect(taskflow, taskId)).at(-1)).toMatchObject({
      name: "failed",
      data: { error: { code: "STORE_CONFLICT" } },
    });
  });
});
