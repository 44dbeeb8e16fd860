import { memoryStore } from "@taskwire/core";
import { createFakeClock } from "@taskwire/testing";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { createQuickstart, parseStartRate } from "../src/app";

const alice = { cookie: "tw_demo_user=alice" };
const bob = { cookie: "tw_demo_user=bob" };

describe("quickstart start rate (burst 10, 1/s per user)", () => {
  it("the 11th quick start is a 429 with Retry-After and details.limit; a second later one more is admitted", async () => {
    // The engine clock stands still, so the eleven starts are 'at once' however slow the machine is.
    const clock = createFakeClock();
    const store = memoryStore();
    const { app, tw } = await createQuickstart({ store, clock, logger: pino({ level: "silent" }) });
    onTestFinished(() => tw.close());
    const start = (user = alice) =>
      request(app).post("/api/reports/generate").set(user).send({ chunks: 1, chunkMs: 0 });
    for (let i = 0; i < 10; i++) expect((await start()).status).toBeLessThan(300);
    const limited = await start();
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.body.error).toMatchObject({
      code: "BACKPRESSURE",
      details: { retryAfterMs: 1000, limit: "startRate" },
    });
    expect(await store.listTasks({ owner: "alice", limit: 100 })).toHaveLength(10);
    expect((await start(bob)).status).toBeLessThan(300); // per user
    await clock.advance(1000);
    expect((await start()).status).toBeLessThan(300);
    expect((await start()).status).toBe(429);
  });

  it("TASKWIRE_START_RATE reads as <burst>/<perSecond> or off", () => {
    expect(parseStartRate(undefined)).toBeUndefined();
    expect(parseStartRate("off")).toBe(false);
    expect(parseStartRate("20/0.5")).toEqual({ burst: 20, perSecond: 0.5 });
    expect(() => parseStartRate("fast")).toThrow(/TASKWIRE_START_RATE/);
  });
});
