import { Plugin } from "@taskwire/express";
import { openSSE } from "@taskwire/testing";
import type express from "express";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, blockingTask, bob, type Harness, makeHarness, newKey, release } from "./helpers";

const GRACE = 150;

class WatchPlugin extends Plugin {
  readonly name = "watch";
  override injectRoutes(router: express.Router) {
    router.post("/run", (req, res) =>
      // cancelOnDisconnect is left to its default (true) unless the test opts out with ?keep=1.
      this.asUser(req).executeTask(res, blockingTask, req.body, {
        disconnectGraceMs: GRACE,
        ...(req.query.keep === "1" ? { cancelOnDisconnect: false } : {}),
      }),
    );
  }
}

async function setup(heartbeatMs = 30) {
  const h = await makeHarness(onTestFinished, { plugins: [new WatchPlugin()], sse: { heartbeatMs } });
  const base = await h.listen();
  return { h, base };
}

/** Starts the blocking task through the POST route and reads ready + tick 1. */
async function startRun(h: Harness, base: string, query = "") {
  const key = newKey();
  const post = await openSSE(`${base}/api/watch/run${query}`, {
    method: "POST",
    headers: { ...alice, "Content-Type": "application/json" },
    body: JSON.stringify({ key }),
  });
  const ready = await post.next();
  expect(ready.event).toBe("ready");
  expect(await post.next()).toMatchObject({ id: "1", event: "tick" });
  const taskId = (ready.data as { taskId: string }).taskId;
  return { post, key, taskId, status: async () => (await h.store.getTask(taskId))?.status };
}

describe("cancel on disconnect", () => {
  it("cancels a task started on a POST route once its client is gone past the grace", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    const gone = Date.now();
    run.post.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId: run.taskId, graceMs: GRACE });
    await vi.waitFor(async () => expect(await run.status(), "cancelled").toBe("cancelled"), {
      timeout: 5000,
      interval: 5,
    });
    expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE - 5);
    expect(h.log.find("task.cancel_on_disconnect_requested", { taskId: run.taskId })).toHaveLength(1);
    expect(h.tw.bridge.stats()).toEqual({ openStreams: 0, watchedTasks: 0, pendingCancels: 0 });
  });

  it("keeps the task alive when the client reconnects to GET /tasks/:id/events within the grace", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    run.post.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId: run.taskId });
    const again = await openSSE(`${base}/api/tasks/${run.taskId}/events`, {
      headers: { ...alice, "Last-Event-ID": "1" },
    });
    expect(await again.next()).toMatchObject({ id: "1", event: "ready" });
    await h.log.waitFor("task.cancel_unscheduled", { taskId: run.taskId });
    // Heartbeats prove time passes well beyond the grace while the reconnected client watches.
    await again.waitForComment("heartbeat", Math.ceil((GRACE * 2) / 30));
    expect(await run.status()).toBe("running");
    expect(h.log.find("task.cancel_on_disconnect_requested")).toHaveLength(0);
    release(run.key);
    expect(await again.next()).toMatchObject({ id: "2", event: "tick" });
    expect(await again.next()).toMatchObject({ id: "3", event: "completed" });
    await again.ended;
    expect(h.tw.bridge.stats()).toEqual({ openStreams: 0, watchedTasks: 0, pendingCancels: 0 });
  });

  it("cancels a task watched by several clients only when the last one is gone past the grace", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    const watcher = await openSSE(`${base}/api/tasks/${run.taskId}/events`, { headers: alice });
    await watcher.waitForFrame((f) => f.event === "tick");
    await vi.waitFor(() => expect(h.tw.bridge.stats().openStreams, "two streams").toBe(2), {
      timeout: 2000,
      interval: 5,
    });
    run.post.close();
    await h.log.waitFor("sse.client_disconnected", { taskId: run.taskId });
    await watcher.waitForComment("heartbeat", Math.ceil((GRACE * 2) / 30));
    expect(h.log.find("task.cancel_scheduled")).toHaveLength(0);
    expect(await run.status()).toBe("running");
    watcher.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId: run.taskId });
    await vi.waitFor(async () => expect(await run.status(), "cancelled").toBe("cancelled"), {
      timeout: 5000,
      interval: 5,
    });
  });

  it("does not count another user's request for the task as a reconnect", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    run.post.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId: run.taskId });
    const stranger = await request(base).get(`/api/tasks/${run.taskId}/events`).set(bob);
    expect(stranger.status).toBe(404);
    await vi.waitFor(async () => expect(await run.status(), "cancelled").toBe("cancelled"), {
      timeout: 5000,
      interval: 5,
    });
    expect(h.log.find("task.cancel_unscheduled")).toHaveLength(0);
  });

  it("never cancels a task that finished during the grace", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    run.post.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId: run.taskId });
    release(run.key);
    await vi.waitFor(async () => expect(await run.status(), "completed").toBe("completed"), {
      timeout: 5000,
      interval: 5,
    });
    await h.log.waitFor("task.cancel_skipped", { taskId: run.taskId, status: "completed" });
    expect(h.log.find("task.cancel_requested")).toHaveLength(0);
    expect(await run.status()).toBe("completed");
  });

  it("forgets the policy once the terminal frame was delivered", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base);
    release(run.key);
    await run.post.waitForFrame((f) => f.event === "completed");
    await run.post.ended;
    await vi.waitFor(() => expect(h.tw.bridge.stats().openStreams, "stream closed").toBe(0), {
      timeout: 2000,
      interval: 5,
    });
    expect(h.tw.bridge.stats()).toEqual({ openStreams: 0, watchedTasks: 0, pendingCancels: 0 });
    expect(h.log.find("task.cancel_scheduled")).toHaveLength(0);
  });

  it("leaves the task running with cancelOnDisconnect: false", async () => {
    const { h, base } = await setup();
    const run = await startRun(h, base, "?keep=1");
    run.post.close();
    await h.log.waitFor("sse.client_disconnected", { taskId: run.taskId });
    await vi.waitFor(() => expect(h.tw.bridge.stats().openStreams, "stream closed").toBe(0), {
      timeout: 2000,
      interval: 5,
    });
    expect(h.tw.bridge.stats().pendingCancels).toBe(0);
    expect(h.log.find("task.cancel_scheduled")).toHaveLength(0);
    expect(await run.status()).toBe("running");
    release(run.key);
  });

  it("uses sse.disconnectGraceMs for tasks streamed by POST /tasks/:name", async () => {
    const h = await makeHarness(onTestFinished, { sse: { disconnectGraceMs: 80 } });
    const base = await h.listen();
    const post = await openSSE(`${base}/api/tasks/test.blocking`, {
      method: "POST",
      headers: { ...alice, "Content-Type": "application/json" },
      body: JSON.stringify({ key: newKey() }),
    });
    const ready = await post.next();
    const taskId = (ready.data as { taskId: string }).taskId;
    await post.waitForFrame((f) => f.event === "tick");
    post.close();
    await h.log.waitFor("task.cancel_scheduled", { taskId, graceMs: 80 });
    await vi.waitFor(
      async () => expect((await h.store.getTask(taskId))?.status, "cancelled").toBe("cancelled"),
      { timeout: 5000, interval: 5 },
    );
  });

  it("does not make a run cancellable when a streaming start re-attaches to it by idempotency key", async () => {
    const h = await makeHarness(onTestFinished, { sse: { disconnectGraceMs: 80 } });
    const base = await h.listen();
    const key = newKey();
    const headers = { ...alice, "Content-Type": "application/json", "Idempotency-Key": key };
    // Started as a 202 job, meant to run to completion whoever watches it.
    const job = await request(h.tw.app).post("/api/tasks/test.blocking").set(headers).send({ key });
    expect(job.status).toBe(202);
    const post = await openSSE(`${base}/api/tasks/test.blocking`, {
      method: "POST",
      headers,
      body: JSON.stringify({ key }),
    });
    const ready = await post.next();
    expect((ready.data as { taskId: string }).taskId).toBe(job.body.taskId);
    await post.waitForFrame((f) => f.event === "tick");
    post.close();
    await h.log.waitFor("sse.client_disconnected", { taskId: job.body.taskId });
    await vi.waitFor(() => expect(h.tw.bridge.stats().openStreams, "stream closed").toBe(0), {
      timeout: 2000,
      interval: 5,
    });
    expect(h.tw.bridge.stats().pendingCancels).toBe(0);
    expect(h.log.find("task.cancel_scheduled")).toHaveLength(0);
    expect((await h.store.getTask(job.body.taskId))?.status).toBe("running");
    release(key);
  });
});
