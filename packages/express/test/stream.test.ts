import { getEventListeners } from "node:events";
import { runInUserContext, type Taskflow } from "@taskwire/core";
import { openSSE, type ParsedSSEResponse, parseSSEResponse, type SSEParseResult } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  alice,
  blockingTask,
  failingTask,
  faultyStore,
  makeHarness,
  newKey,
  quickTask,
  release,
} from "./helpers";

const asAlice = <T>(fn: () => Promise<T>) => runInUserContext({ userId: "alice" }, fn);

async function finished(taskflow: Taskflow, taskId: string) {
  for await (const _ of taskflow.subscribe(taskId)) {
    // drain to the terminal event
  }
}

/** Every frame has an id and data; nothing the parser would silently drop. */
function expectWellFormed(sse: SSEParseResult) {
  expect(sse.violations).toEqual([]);
  expect(sse.errors).toEqual([]);
  for (const frame of sse.frames) {
    expect(frame.id).toMatch(/^(0|[1-9][0-9]*)$/);
    expect(frame.rawData.length).toBeGreaterThan(0);
    expect(frame.event).toBeDefined();
    expect(frame.event).not.toBe("error");
  }
}

const summary = (sse: ParsedSSEResponse | SSEParseResult) => sse.frames.map((f) => [f.id, f.event]);

describe("GET /tasks/:taskId/events", () => {
  it("starts with ready (id = cursor, retry, taskId/task/status), replays every event by seq (no step checkpoints), ends after the terminal frame", async () => {
    const h = await makeHarness(onTestFinished, { sse: { retryMs: 1234 } });
    const { taskId } = await asAlice(() => h.taskflow.start(quickTask, { n: 3 }));
    await finished(h.taskflow, taskId);
    const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
    expect(sse.status).toBe(200);
    expect(sse.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expectWellFormed(sse);
    expect(summary(sse)).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "tick"],
      ["3", "tick"],
      ["4", "completed"],
    ]);
    expect(sse.frames[0]).toMatchObject({
      retry: 1234,
      data: { taskId, task: "test.quick", status: "completed" },
    });
    // The WAL's BigInt and Date reach the wire as a decimal string and an ISO string.
    expect(sse.frames[1]?.data).toEqual({
      i: 1,
      big: (2n ** 60n + 1n).toString(),
      at: "1970-01-01T00:00:01.000Z",
    });
    expect(sse.frames[4]?.data).toEqual({ result: { n: 3, total: (2n ** 64n).toString() } });
    expect(sse.comments[0]).toBe("ok");
  });

  it("delivers live events as they are appended, then the terminal frame, then ends", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const key = newKey();
    const { taskId } = await asAlice(() => h.taskflow.start(blockingTask, { key }));
    const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
    expect((await sse.next()).event).toBe("ready");
    expect(await sse.next()).toMatchObject({ id: "1", event: "tick", data: { i: 1 } });
    release(key);
    expect(await sse.next()).toMatchObject({ id: "2", event: "tick", data: { i: 2 } });
    expect(await sse.next()).toMatchObject({
      id: "3",
      event: "completed",
      data: { result: { ok: true, user: "alice" } },
    });
    await sse.ended;
    expectWellFormed(sse);
    expect(sse.frames).toHaveLength(4);
  });

  it("sends `cancelled` to open streams when the task is cancelled, then ends", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const { taskId } = await asAlice(() => h.taskflow.start(blockingTask, { key: newKey() }));
    const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
    await sse.waitForFrame((f) => f.event === "tick");
    const res = await fetch(`${base}/api/tasks/${taskId}/cancel`, { method: "POST", headers: alice });
    expect(res.status).toBe(202);
    expect(await sse.waitForFrame((f) => f.event === "cancelled")).toMatchObject({ id: "2" });
    await sse.ended;
    expectWellFormed(sse);
    expect(summary(sse)).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "cancelled"],
    ]);
  });

  it("sends a failed task's terminal frame as `failed`, never `error`", async () => {
    const h = await makeHarness(onTestFinished);
    const { taskId } = await asAlice(() => h.taskflow.start(failingTask, {}));
    await finished(h.taskflow, taskId);
    const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
    expectWellFormed(sse);
    expect(summary(sse)).toEqual([
      ["0", "ready"],
      ["1", "failed"],
    ]);
    expect(sse.frames[1]?.data).toEqual({
      error: { code: "HANDLER_ERROR", message: "the printer is on fire" },
    });
  });

  describe("resume", () => {
    async function completedTask() {
      const h = await makeHarness(onTestFinished);
      const { taskId } = await asAlice(() => h.taskflow.start(quickTask, { n: 3 }));
      await finished(h.taskflow, taskId);
      const get = (path = "") => request(h.tw.app).get(`/api/tasks/${taskId}/events${path}`).set(alice);
      return { h, taskId, get };
    }

    it("by the Last-Event-ID header: ready carries the cursor, then only larger seqs", async () => {
      const { get } = await completedTask();
      const sse = await parseSSEResponse(get().set("Last-Event-ID", "2"));
      expectWellFormed(sse);
      expect(summary(sse)).toEqual([
        ["2", "ready"],
        ["3", "tick"],
        ["4", "completed"],
      ]);
    });

    it("by ?lastEventId= for clients that cannot set headers", async () => {
      const { get } = await completedTask();
      const sse = await parseSSEResponse(get("?lastEventId=1"));
      expectWellFormed(sse);
      expect(summary(sse)).toEqual([
        ["1", "ready"],
        ["2", "tick"],
        ["3", "tick"],
        ["4", "completed"],
      ]);
    });

    it("the header wins when both are present", async () => {
      const { get } = await completedTask();
      const sse = await parseSSEResponse(get("?lastEventId=1").set("Last-Event-ID", "3"));
      expect(summary(sse)).toEqual([
        ["3", "ready"],
        ["4", "completed"],
      ]);
    });

    it("treats a non-canonical value as absent (full replay)", async () => {
      const { get } = await completedTask();
      for (const value of ["01", "-1", "1.5", "abc", "1e0"]) {
        const sse = await parseSSEResponse(get().set("Last-Event-ID", value));
        expect(
          summary(sse).map(([id]) => id),
          value,
        ).toEqual(["0", "1", "2", "3", "4"]);
      }
      const spaced = await parseSSEResponse(get("?lastEventId=%201"));
      expect(summary(spaced).map(([id]) => id)).toEqual(["0", "1", "2", "3", "4"]);
    });

    it("answers 204 with no body at or past the terminal event, also for clamped huge ids", async () => {
      const { get } = await completedTask();
      for (const value of ["4", "5", "99999999999999999999999"]) {
        const res = await get().set("Last-Event-ID", value);
        expect(res.status, value).toBe(204);
        expect(res.text ?? "").toBe("");
        expect(res.headers["content-type"]).toBeUndefined();
      }
    });
  });

  it("sends `: heartbeat` comments every heartbeatMs while the task is quiet", async () => {
    const h = await makeHarness(onTestFinished, { sse: { heartbeatMs: 25 } });
    const base = await h.listen();
    const key = newKey();
    const { taskId } = await asAlice(() => h.taskflow.start(blockingTask, { key }));
    const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
    await sse.waitForComment("heartbeat", 3);
    expect(sse.frames.map((f) => f.event)).toEqual(["ready", "tick"]);
    release(key);
    await sse.waitForFrame((f) => f.event === "completed");
    expectWellFormed(sse);
  });

  it("answers JSON 404 (not a stream) for an unknown task", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app).get("/api/tasks/nope/events").set(alice);
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      error: { code: "TASK_NOT_FOUND", message: "Task nope was not found.", details: { taskId: "nope" } },
    });
  });

  it("stops the subscription on client disconnect without leaking watches or abort listeners", async () => {
    const faulty = faultyStore();
    const h = await makeHarness(onTestFinished, { store: faulty.store });
    const base = await h.listen();
    const key = newKey();
    const { taskId } = await asAlice(() => h.taskflow.start(blockingTask, { key }));
    const baseline = faulty.watchCount();
    for (let i = 0; i < 5; i++) {
      const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
      await sse.waitForFrame((f) => f.event === "tick");
      sse.close();
    }
    await vi.waitFor(() => expect(h.log.find("sse.client_disconnected"), "5 disconnects").toHaveLength(5), {
      timeout: 5000,
      interval: 5,
    });
    await vi.waitFor(() => expect(h.tw.bridge.stats().openStreams, "streams closed").toBe(0), {
      timeout: 5000,
      interval: 5,
    });
    expect(faulty.watchCount()).toBe(baseline);
    expect(getEventListeners(h.tw.bridge.shutdownSignal, "abort")).toHaveLength(0);
    expect(h.tw.bridge.stats().watchedTasks).toBe(0);
    release(key);
  });
});

describe("internal errors after the headers", () => {
  async function failingStream(production: boolean) {
    const faulty = faultyStore();
    const h = await makeHarness(onTestFinished, { store: faulty.store, production });
    const { taskId } = await asAlice(() => h.taskflow.start(quickTask, { n: 2 }));
    await finished(h.taskflow, taskId);
    faulty.fail("readEvents", new Error("disk /dev/sda1 is on fire"));
    const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
    faulty.heal();
    return { h, sse };
  }

  it("become an interrupted frame {code: internal} masked in production, detail only in the log", async () => {
    const { h, sse } = await failingStream(true);
    expectWellFormed(sse);
    expect(summary(sse)).toEqual([
      ["0", "ready"],
      ["0", "interrupted"],
    ]);
    expect(sse.frames[1]?.data).toEqual({ code: "internal", message: "Internal error" });
    const logged = await h.log.waitFor("sse.stream_failed");
    expect(JSON.stringify(logged)).toContain("disk /dev/sda1 is on fire");
    expect(h.log.find("sse.stream_interrupted", { code: "internal" })).toHaveLength(1);
  });

  it("keep their message outside production", async () => {
    const { sse } = await failingStream(false);
    expect(sse.frames[1]?.data).toEqual({ code: "internal", message: "disk /dev/sda1 is on fire" });
  });
});
