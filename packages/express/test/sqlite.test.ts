import { sqliteStore } from "@taskwire/sqlite";
import { openSSE, parseSSEResponse } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, bob, makeHarness, newKey, release } from "./helpers";

describe("on the SQLite store", () => {
  it("streams, resumes by Last-Event-ID, and keeps owners apart", async () => {
    const h = await makeHarness(onTestFinished, { store: sqliteStore({ path: ":memory:" }) });
    const started = await parseSSEResponse(
      request(h.tw.app)
        .post("/api/tasks/test.quick")
        .set(alice)
        .set("Accept", "text/event-stream")
        .send({ n: 3 }),
    );
    expect(started.violations).toEqual([]);
    expect(started.frames.map((f) => [f.id, f.event])).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "tick"],
      ["3", "tick"],
      ["4", "completed"],
    ]);
    const taskId = (started.frames[0]!.data as { taskId: string }).taskId;
    const resumed = await parseSSEResponse(
      request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice).set("Last-Event-ID", "2"),
    );
    expect(resumed.frames.map((f) => f.id)).toEqual(["2", "3", "4"]);
    expect(
      (await request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice).set("Last-Event-ID", "4"))
        .status,
    ).toBe(204);
    expect((await request(h.tw.app).get(`/api/tasks/${taskId}`).set(bob)).status).toBe(404);
  });

  it("delivers live events through the store's doorbell", async () => {
    const h = await makeHarness(onTestFinished, { store: sqliteStore({ path: ":memory:" }) });
    const base = await h.listen();
    const key = newKey();
    const sse = await openSSE(`${base}/api/tasks/test.blocking`, {
      method: "POST",
      headers: { ...alice, "Content-Type": "application/json" },
      body: JSON.stringify({ key }),
    });
    expect((await sse.next()).event).toBe("ready");
    expect(await sse.next()).toMatchObject({ id: "1", event: "tick" });
    release(key);
    expect(await sse.next()).toMatchObject({ id: "2", event: "tick" });
    expect(await sse.next()).toMatchObject({
      id: "3",
      event: "completed",
      data: { result: { user: "alice" } },
    });
    await sse.ended;
  });
});
