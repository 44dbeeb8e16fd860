import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, bob, makeHarness } from "./helpers";

type App = Parameters<typeof request>[0];

const start = (app: App, user: Record<string, string>, headers: Record<string, string>, n: number) =>
  request(app).post("/api/tasks/test.quick").set(user).set(headers).send({ n });

describe("POST /tasks/:name with Debounce-Key", () => {
  it("folds starts of one key into one queued task with the latest input; each caller gets its id", async () => {
    const h = await makeHarness(onTestFinished, { taskflowOptions: { worker: false } });
    const headers = { "Debounce-Key": "doc-1", "Debounce-Period-Ms": "60000" };
    const first = await start(h.tw.app, alice, headers, 1);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ created: true });
    const second = await start(h.tw.app, alice, headers, 2);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ taskId: first.body.taskId, created: false });
    const bobs = await start(h.tw.app, bob, headers, 3);
    expect(bobs.body.taskId).not.toBe(first.body.taskId);
    const tasks = await h.store.listTasks({ owner: "alice" });
    expect(tasks).toHaveLength(1);
    expect(JSON.parse(tasks[0]!.input)).toEqual({ n: 2 });
    expect(tasks[0]!.runAt).toBeGreaterThan(Date.now() + 50_000);
  });

  it("answers 400 naming the header for malformed debounce headers, and stores nothing", async () => {
    const h = await makeHarness(onTestFinished, { taskflowOptions: { worker: false } });
    const cases: Array<[Record<string, string>, string]> = [
      [{ "Debounce-Key": "", "Debounce-Period-Ms": "100" }, "Debounce-Key"],
      [{ "Debounce-Key": "k".repeat(256), "Debounce-Period-Ms": "100" }, "Debounce-Key"],
      [{ "Debounce-Key": "two words", "Debounce-Period-Ms": "100" }, "Debounce-Key"],
      [{ "Debounce-Period-Ms": "100" }, "Debounce-Key"],
      [{ "Debounce-Key": "k" }, "Debounce-Period-Ms"],
      [{ "Debounce-Key": "k", "Debounce-Period-Ms": "0" }, "Debounce-Period-Ms"],
      [{ "Debounce-Key": "k", "Debounce-Period-Ms": "1.5" }, "Debounce-Period-Ms"],
      [{ "Debounce-Key": "k", "Debounce-Period-Ms": "604800001" }, "Debounce-Period-Ms"],
      [
        { "Debounce-Key": "k", "Debounce-Period-Ms": "100", "Debounce-Max-Wait-Ms": "50" },
        "Debounce-Max-Wait-Ms",
      ],
      [{ "Debounce-Key": "k", "Debounce-Period-Ms": "100", "Idempotency-Key": "i" }, "Debounce-Key"],
    ];
    for (const [headers, field] of cases) {
      const res = await start(h.tw.app, alice, headers, 1);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.body.error).toMatchObject({ code: "BAD_REQUEST", details: { field } });
      const sse = await start(h.tw.app, alice, { ...headers, Accept: "text/event-stream" }, 1);
      expect(sse.status, JSON.stringify(headers)).toBe(400);
    }
    expect(await h.store.listTasks({ owner: "alice" })).toEqual([]);
  });

  it("streams the debounced run to every caller with Accept: text/event-stream", async () => {
    const h = await makeHarness(onTestFinished);
    const headers = { "Debounce-Key": "doc-2", "Debounce-Period-Ms": "400", Accept: "text/event-stream" };
    const [a, b] = await Promise.all([
      start(h.tw.app, alice, headers, 1),
      start(h.tw.app, alice, headers, 2),
    ]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(res.text).toContain("event: completed");
    }
    const tasks = await h.store.listTasks({ owner: "alice" });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.status).toBe("completed");
  });
});
