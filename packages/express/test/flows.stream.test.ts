import { runInUserContext, type Taskflow } from "@taskwire/core";
import { openSSE, parseSSEResponse, type SSEParseResult } from "@taskwire/testing";
import { EventSource } from "eventsource";
import express from "express";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  alice,
  approvalTask,
  fix,
  flakyTask,
  type Harness,
  makeHarness,
  newKey,
  parentTask,
  release,
} from "./helpers";

const asAlice = <T>(fn: () => Promise<T>) => runInUserContext({ userId: "alice" }, fn);

const summary = (sse: SSEParseResult) => sse.frames.map((f) => [f.id, f.event]);

/** Reads the task's events (as alice) up to and including the first event named `name`. */
async function until(taskflow: Taskflow, taskId: string, name: string) {
  await asAlice(async () => {
    for await (const event of taskflow.subscribe(taskId)) if (event.name === name) break;
  });
}

/** A flaky task that failed once (seq 1 tick, seq 2 failed), then fixed and retried over HTTP. */
async function retriedTask(h: Harness) {
  const key = newKey();
  const { taskId } = await asAlice(() => h.taskflow.start(flakyTask, { key }));
  await until(h.taskflow, taskId, "failed");
  fix(key);
  const retried = await request(h.tw.app).post(`/api/tasks/${taskId}/retry`).set(alice);
  expect(retried.status).toBe(202);
  return { taskId, key };
}

describe("the stream of a retried task", () => {
  it("replays from 0 past the old failed frame and follows the new run live to its terminal frame", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const { taskId, key } = await retriedTask(h);
    const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
    expect(sse.status).toBe(200);
    expect(await sse.next()).toMatchObject({ id: "0", event: "ready" });
    expect(await sse.next()).toMatchObject({ id: "1", event: "tick", data: { i: 1 } });
    expect(await sse.next()).toMatchObject({
      id: "2",
      event: "failed",
      data: { error: { code: "HANDLER_ERROR", message: `flaky ${key} is broken` } },
    });
    expect(await sse.next()).toMatchObject({ id: "3", event: "tick", data: { i: 2 } });
    expect(sse.isEnded).toBe(false);
    release(key); // the completed frame can only arrive live
    expect(await sse.next()).toMatchObject({ id: "4", event: "completed", data: { result: { attempt: 2 } } });
    await sse.ended;
    expect(sse.violations).toEqual([]);
    expect(summary(sse)).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "failed"],
      ["3", "tick"],
      ["4", "completed"],
    ]);
  });

  it("answers 204 only at or past the CURRENT terminal event: the old failed one is a resume point", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const key = newKey();
    const { taskId } = await asAlice(() => h.taskflow.start(flakyTask, { key }));
    await until(h.taskflow, taskId, "failed");
    const events = (lastEventId: string) =>
      request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice).set("Last-Event-ID", lastEventId);

    // Failed (and not retried): seq 2 is the current terminal event.
    expect((await events("2")).status).toBe(204);

    fix(key);
    expect((await request(h.tw.app).post(`/api/tasks/${taskId}/retry`).set(alice)).status).toBe(202);
    // Retried and running (blocked at its gate): resuming after the old failed event streams on.
    const live = await openSSE(`${base}/api/tasks/${taskId}/events`, {
      headers: { ...alice, "Last-Event-ID": "2" },
    });
    expect(live.status).toBe(200);
    expect(await live.next()).toMatchObject({ id: "2", event: "ready" });
    expect(await live.next()).toMatchObject({ id: "3", event: "tick" });
    live.close();

    release(key);
    await vi.waitFor(
      async () => expect((await h.store.getTask(taskId))?.status === "completed", "completed").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const afterFailed = await parseSSEResponse(events("2"));
    expect(afterFailed.status).toBe(200);
    expect(summary(afterFailed)).toEqual([
      ["2", "ready"],
      ["3", "tick"],
      ["4", "completed"],
    ]);
    expect((await events("4")).status).toBe(204);
    expect((await events("9")).status).toBe(204);
  });

  it("reaches a browser-style EventSource whole: old failed frame, new run, then 204 stops it", async () => {
    const requests: Array<string | undefined> = [];
    const app = express();
    app.use((req, _res, next) => {
      if (req.path.endsWith("/events")) requests.push(req.get("Last-Event-ID"));
      next();
    });
    const h = await makeHarness(onTestFinished, { app, sse: { retryMs: 30 } });
    const base = await h.listen();
    const { taskId, key } = await retriedTask(h);
    release(key);
    await vi.waitFor(
      async () => expect((await h.store.getTask(taskId))?.status === "completed", "completed").toBe(true),
      { timeout: 5000, interval: 5 },
    );

    const received: Array<[string, string]> = [];
    const es = new EventSource(`${base}/api/tasks/${taskId}/events`, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...alice } }),
    });
    onTestFinished(() => es.close());
    for (const type of ["ready", "tick", "completed", "failed", "cancelled", "interrupted", "message"])
      es.addEventListener(type, (event) => received.push([type, event.lastEventId]));
    await vi.waitFor(() => expect(es.readyState === es.CLOSED, "EventSource closed by the 204").toBe(true), {
      timeout: 5000,
      interval: 5,
    });
    expect(received).toEqual([
      ["ready", "0"],
      ["tick", "1"],
      ["failed", "2"],
      ["tick", "3"],
      ["completed", "4"],
    ]);
    expect(requests).toEqual([undefined, "4"]);
  });
});

describe("flows on the wire", () => {
  it("streams a parent's child frames (queued, then settled, once per child) as ordinary frames", async () => {
    const h = await makeHarness(onTestFinished);
    const { taskId } = await asAlice(() => h.taskflow.start(parentTask, { sizes: [1, 2] }));
    await until(h.taskflow, taskId, "completed");
    const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
    expect(sse.status).toBe(200);
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => f.id)).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
    const children = sse.frames.filter((f) => f.event === "child");
    expect(children).toHaveLength(4);
    const byChild = new Map<string, string[]>();
    for (const frame of children) {
      const data = frame.data as { taskId: string; task: string; status: string };
      expect(Object.keys(data).sort()).toEqual(["status", "task", "taskId"]);
      expect(data.task).toBe("test.quick");
      byChild.set(data.taskId, [...(byChild.get(data.taskId) ?? []), data.status]);
    }
    expect([...byChild.values()]).toEqual([
      ["queued", "completed"],
      ["queued", "completed"],
    ]);
    expect(sse.frames.at(-1)).toMatchObject({ event: "completed", data: { result: { ns: [1, 2] } } });

    // Each child is a task of the same owner, with its parent in the snapshot.
    for (const childId of byChild.keys()) {
      const child = await request(h.tw.app).get(`/api/tasks/${childId}`).set(alice);
      expect(child.body).toMatchObject({ taskId: childId, parentId: taskId, status: "completed" });
    }
  });

  it("shows a waiting task as waiting, and a signal over HTTP wakes its live stream to the end", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const { taskId } = await asAlice(() => h.taskflow.start(approvalTask, {}));
    await vi.waitFor(
      async () => expect((await h.store.getTask(taskId))?.status === "waiting", "waiting").toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
    expect(await sse.next()).toMatchObject({ id: "0", event: "ready", data: { status: "waiting" } });
    expect(await sse.next()).toMatchObject({ id: "1", event: "awaiting" });
    const signal = await request(h.tw.app)
      .post(`/api/tasks/${taskId}/signals/approve`)
      .set(alice)
      .send({ approved: false });
    expect(signal.status).toBe(202);
    expect(await sse.next()).toMatchObject({
      id: "2",
      event: "completed",
      data: { result: { approved: false, note: "" } },
    });
    await sse.ended;
  });
});
