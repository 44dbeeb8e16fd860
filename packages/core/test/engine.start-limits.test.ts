import { createFakeClock } from "@taskwire/testing";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { type BackpressureError, defineTask, isTaskwireError, runInUserContext } from "../src/index";
import { makeTaskflow } from "./helpers";

const def = defineTask({
  name: "limits.task",
  input: z.object({ n: z.number() }),
  result: z.number(),
  async run(input) {
    return input.n;
  },
});

async function refusal(promise: Promise<unknown>): Promise<BackpressureError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTaskwireError(error, "BACKPRESSURE")) throw new Error(`expected BACKPRESSURE, got ${String(error)}`);
  return error as BackpressureError;
}

describe("start limits", () => {
  it("startRate: a burst, then BackpressureError with the time until one token on the engine clock", async () => {
    const clock = createFakeClock();
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      clock,
      limits: { startRate: { perSecond: 0.5, burst: 2 } },
    });
    const ref = taskflow.task(def);
    const asAlice = <T>(fn: () => Promise<T>) => runInUserContext({ userId: "alice" }, fn);
    await asAlice(() => taskflow.start(ref, { n: 1 }));
    await asAlice(() => taskflow.start(ref, { n: 2 }));
    const first = await refusal(asAlice(() => taskflow.start(ref, { n: 3 })));
    expect(first.retryAfterMs).toBe(2000); // one token every 2 s
    expect(first.details).toEqual({ retryAfterMs: 2000, limit: "startRate" });
    await clock.advance(500);
    expect((await refusal(asAlice(() => taskflow.start(ref, { n: 3 })))).retryAfterMs).toBe(1500);
    // Another owner has its own bucket.
    await runInUserContext({ userId: "bob" }, () => taskflow.start(ref, { n: 4 }));
    await clock.advance(1500);
    expect((await asAlice(() => taskflow.start(ref, { n: 3 }))).created).toBe(true);
    expect(await taskflow.list({ owner: "alice" })).toHaveLength(3);
  });

  it("startRate: a start that re-attaches by its idempotency key is not charged", async () => {
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      clock: createFakeClock(),
      limits: { startRate: { perSecond: 1, burst: 1 } },
    });
    const ref = taskflow.task(def);
    const first = await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k" });
    expect(await taskflow.start(ref, { n: 1 }, { idempotencyKey: "k" })).toEqual({
      taskId: first.taskId,
      created: false,
    });
    expect((await refusal(taskflow.start(ref, { n: 2 }))).details).toMatchObject({ limit: "startRate" });
  });

  it("maxQueued: refused with details.limit and the configured retryAfterMs", async () => {
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      limits: { maxQueued: 2, maxQueuedRetryAfterMs: 3000 },
    });
    const ref = taskflow.task(def);
    await taskflow.start(ref, { n: 1 });
    await taskflow.start(ref, { n: 2 });
    const refused = await refusal(taskflow.start(ref, { n: 3 }));
    expect(refused.details).toEqual({ retryAfterMs: 3000, limit: "maxQueued" });
    expect(await taskflow.list()).toHaveLength(2);
  });

  it("maxActivePerOwner names its limit too", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    await taskflow.start(ref, { n: 1 }, { maxActivePerOwner: 1 });
    const refused = await refusal(taskflow.start(ref, { n: 2 }, { maxActivePerOwner: 1 }));
    expect(refused.details).toEqual({ retryAfterMs: 5000, limit: "maxActivePerOwner" });
  });

  it("rejects invalid limits at createTaskflow", async () => {
    for (const limits of [
      { startRate: { perSecond: 0, burst: 1 } },
      { startRate: { perSecond: 1, burst: 0.5 } },
      { maxQueued: -1 },
    ]) {
      await expect(makeTaskflow(onTestFinished, { worker: false, limits })).rejects.toMatchObject({
        code: "VALIDATION_ERROR",
      });
    }
  });
});
