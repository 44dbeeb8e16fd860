import { Plugin } from "@taskwire/express";
import { parseSSEResponse } from "@taskwire/testing";
import type express from "express";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, makeHarness, quickTask } from "./helpers";

/** Passes the header on as `settings.idempotencyKey`, as the quickstart's plugin does. */
class KeyedPlugin extends Plugin {
  readonly name = "keyed";
  override injectRoutes(router: express.Router) {
    router.post("/run", (req, res) =>
      this.asUser(req).executeTask(res, quickTask, req.body, {
        idempotencyKey: req.query.derive === "1" ? "input" : req.get("Idempotency-Key"),
      }),
    );
  }
}

/** Keys the one rule refuses: empty, 10 kB, non-ASCII (sent as Latin-1), an inner space. */
const INVALID_KEYS = ["", "x".repeat(10_000), "clé", "a b"];

function expectBadKey(res: request.Response) {
  expect(res.status).toBe(400);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.body.error).toMatchObject({ code: "BAD_REQUEST", details: { field: "Idempotency-Key" } });
  expect(res.body.error.message).toContain("Idempotency-Key");
}

describe("one Idempotency-Key rule for the router and executeTask", () => {
  it("refuses an invalid key on every start path, before any SSE header, and starts nothing", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new KeyedPlugin()] });
    for (const key of INVALID_KEYS) {
      const starts = [
        request(h.tw.app).post("/api/tasks/test.quick"),
        request(h.tw.app).post("/api/tasks/test.quick").set("Accept", "text/event-stream"),
        request(h.tw.app).post("/api/keyed/run"),
      ];
      for (const start of starts)
        expectBadKey(await start.set(alice).set("Idempotency-Key", key).send({ n: 1 }));
    }
    expect(await h.store.listTasks()).toEqual([]);
  });

  it("never lets an empty key act as a real one through a plugin route", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new KeyedPlugin()] });
    const start = (n: number) =>
      request(h.tw.app).post("/api/keyed/run").set(alice).set("Idempotency-Key", "").send({ n });
    expectBadKey(await start(1));
    expectBadKey(await start(2)); // would be 409 IDEMPOTENCY_CONFLICT if "" were a key
    expect(await h.store.listTasks()).toEqual([]);
  });

  it('still deduplicates with a valid key and with the derived key "input"', async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new KeyedPlugin()] });
    const run = async (query: string, key?: string) => {
      const req = request(h.tw.app).post(`/api/keyed/run${query}`).set(alice);
      const sse = await parseSSEResponse(
        (key === undefined ? req : req.set("Idempotency-Key", key)).send({ n: 1 }),
      );
      expect(sse.status).toBe(200);
      const ready = sse.frames[0];
      expect(ready?.event).toBe("ready");
      return (ready?.data as { taskId: string } | undefined)?.taskId;
    };
    const keyed = await run("", "k-1");
    expect(keyed).toEqual(expect.any(String));
    expect(await run("", "k-1")).toBe(keyed);
    expect(await run("?derive=1")).toBe(await run("?derive=1"));
    expect(await h.store.listTasks()).toHaveLength(2);
  });
});
