import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { systemClock } from "../src/clock/clock";
import { defineTask, isTaskwireError, runInUserContext } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

let runs = 0;
const def = defineTask({
  name: "idem.task",
  input: z.object({ n: z.number(), tags: z.array(z.string()).default([]) }),
  result: z.object({ n: z.number() }),
  async run(input) {
    runs++;
    return { n: input.n };
  },
});

describe("idempotency", () => {
  it("attaches a repeated key to the existing run: no second execution, same stream", async () => {
    runs = 0;
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(def);
    const a = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k1" });
    const b = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k1" });
    expect(b).toEqual({ taskId: a.taskId, created: false });
    expect((await collect(taskflow, b.taskId)).at(-1)?.name).toBe("completed");
    expect(runs).toBe(1);
  });

  it("rejects the same key with a different input with IdempotencyConflictError", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    const a = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k2" });
    const error = await taskflow.start(ref, { n: 2 }, { idempotencyKey: "k2" }).catch((e: unknown) => e);
    expect(isTaskwireError(error, "IDEMPOTENCY_CONFLICT")).toBe(true);
    expect((error as { details: { taskId: string } }).details.taskId).toBe(a.taskId);
  });

  it("scopes keys per owner", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    const alice = await runInUserContext({ userId: "alice" }, () =>
      taskflow.start(ref, { n: 1 }, { idempotencyKey: "same" }),
    );
    const bob = await runInUserContext({ userId: "bob" }, () =>
      taskflow.start(ref, { n: 2 }, { idempotencyKey: "same" }),
    );
    expect(bob.created).toBe(true);
    expect(bob.taskId).not.toBe(alice.taskId);
  });

  it('derives the key from the canonical input with idempotencyKey: "input" (key order and defaults do not matter)', async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    const a = await taskflow.start(ref, { n: 5, tags: [] }, { idempotencyKey: "input" });
    const b = await taskflow.start(ref, { n: 5 }, { idempotencyKey: "input" });
    const c = await taskflow.start(ref, { n: 6 }, { idempotencyKey: "input" });
    expect(b).toEqual({ taskId: a.taskId, created: false });
    expect(c.created).toBe(true);
  });

  it("stops deduplicating once the window has passed", async () => {
    let clock = 1_000_000;
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      clock: { ...systemClock, now: () => clock },
      idempotencyTtlMs: 1000,
    });
    const ref = taskflow.task(def);
    const a = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k3" });
    clock += 1001;
    const b = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k3" });
    expect(b.created).toBe(true);
    expect(b.taskId).not.toBe(a.taskId);
  });

  it("refuses a start over maxActivePerOwner with BackpressureError, but lets a re-attaching key through", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    const limit = { maxActivePerOwner: 1, retryAfterMs: 1234 };
    const first = await taskflow.start(ref, { n: 1 }, { ...limit, idempotencyKey: "page" });
    const refused = await taskflow.start(ref, { n: 2 }, limit).catch((e: unknown) => e);
    expect(isTaskwireError(refused, "BACKPRESSURE")).toBe(true);
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBe(1234);
    expect(await taskflow.start(ref, { n: 1 }, { ...limit, idempotencyKey: "page" })).toEqual({
      taskId: first.taskId,
      created: false,
    });
  });
});
