import { createFakeClock } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, bob, makeHarness } from "./helpers";

const start = (app: Parameters<typeof request>[0], user: Record<string, string>, sse = false) => {
  const req = request(app).post("/api/tasks/test.quick").set(user);
  return (sse ? req.set("Accept", "text/event-stream") : req).send({ n: 1 });
};

describe("429 per start limit", () => {
  it("startRate: 429, Retry-After = seconds until one token (rounded up), details.limit, nothing written", async () => {
    const clock = createFakeClock();
    const h = await makeHarness(onTestFinished, {
      taskflowOptions: { worker: false, clock, limits: { startRate: { perSecond: 0.4, burst: 2 } } },
    });
    expect((await start(h.tw.app, alice)).status).toBe(202);
    expect((await start(h.tw.app, alice)).status).toBe(202);
    const limited = await start(h.tw.app, alice);
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("3"); // 2500 ms until one token
    expect(limited.body.error).toEqual({
      code: "BACKPRESSURE",
      message: expect.any(String),
      details: { retryAfterMs: 2500, limit: "startRate" },
    });
    expect((await start(h.tw.app, alice, true)).status).toBe(429);
    expect(await h.store.listTasks({ owner: "alice" })).toHaveLength(2);
    expect((await start(h.tw.app, bob)).status).toBe(202); // bob has his own bucket
    await clock.advance(2500);
    expect((await start(h.tw.app, alice)).status).toBe(202);
  });

  it("maxQueued: 429 with the configured Retry-After and details.limit, nothing written", async () => {
    const h = await makeHarness(onTestFinished, {
      taskflowOptions: { worker: false, limits: { maxQueued: 2, maxQueuedRetryAfterMs: 1500 } },
    });
    expect((await start(h.tw.app, alice)).status).toBe(202);
    expect((await start(h.tw.app, bob)).status).toBe(202);
    const limited = await start(h.tw.app, alice);
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("2");
    expect(limited.body.error).toMatchObject({
      code: "BACKPRESSURE",
      details: { retryAfterMs: 1500, limit: "maxQueued" },
    });
    expect(await h.store.listTasks({ status: "queued" })).toHaveLength(2);
  });

  it("maxActivePerOwner: 429 with details.limit, nothing written", async () => {
    const h = await makeHarness(onTestFinished, {
      limits: { maxActiveTasksPerOwner: 1, retryAfterSeconds: 4 },
      taskflowOptions: { worker: false },
    });
    expect((await start(h.tw.app, alice)).status).toBe(202);
    const limited = await start(h.tw.app, alice);
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("4");
    expect(limited.body.error.details).toEqual({ retryAfterMs: 4000, limit: "maxActivePerOwner" });
    expect(await h.store.listTasks({ owner: "alice" })).toHaveLength(1);
  });
});
