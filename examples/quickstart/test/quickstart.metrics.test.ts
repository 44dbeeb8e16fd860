import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryStore } from "@taskwire/core";
import { openSSE, parseSSEResponse } from "@taskwire/testing";
import { freePort, type ServerProcess } from "@taskwire/testing/process";
import { pino } from "pino";
import request from "supertest";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { createQuickstart } from "../src/app";
import { parsePrometheusText, sampleValue } from "./prometheus-text";
import { startQuickstart } from "./quickstart-server";

const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

const task = "reports.generate";
const cookie = "tw_demo_user=alice";

describe("quickstart /metrics", () => {
  it("serves Prometheus text counting a task's start, steps, claim, finish, streams and a replay", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tw-metrics-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startQuickstart({
      PORT: String(await freePort()),
      TASKWIRE_DB: join(dir, "tasks.db"),
    });
    servers.push(server);

    // A live stream of a fresh start (cursor 0), to its end.
    const live = await openSSE(`${server.url}/api/tasks/${task}`, {
      method: "POST",
      headers: { cookie, accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ chunks: 3, chunkMs: 0 }),
    });
    expect(live.status).toBe(200);
    const ready = await live.next();
    const taskId = (ready.data as { taskId: string }).taskId;
    await live.waitForFrame((f) => f.event === "completed");
    await live.ended;

    // A reconnect with Last-Event-ID: a replay.
    const replay = await openSSE(`${server.url}/api/tasks/${taskId}/events`, {
      headers: { cookie, "last-event-id": "1" },
    });
    expect((await replay.next()).event).toBe("ready");
    await replay.waitForFrame((f) => f.event === "completed");
    await replay.ended;

    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const metrics = parsePrometheusText(text);
    expect(Object.fromEntries(metrics.types)).toMatchObject({
      taskwire_tasks_started_total: "counter",
      taskwire_tasks_finished_total: "counter",
      taskwire_step_duration_seconds: "histogram",
      taskwire_queue_wait_seconds: "histogram",
      taskwire_lease_reclaims_total: "counter",
      taskwire_sse_streams_open: "gauge",
      taskwire_sse_replays_total: "counter",
      taskwire_http_throttled_total: "counter",
    });
    expect(sampleValue(metrics, "taskwire_tasks_started_total", { task })).toBe(1);
    expect(sampleValue(metrics, "taskwire_tasks_finished_total", { task, status: "completed" })).toBe(1);
    // One executed step per chunk; its histogram has a +Inf bucket equal to the count.
    expect(sampleValue(metrics, "taskwire_step_duration_seconds_count", { task })).toBe(3);
    expect(sampleValue(metrics, "taskwire_step_duration_seconds_bucket", { task, le: "+Inf" })).toBe(3);
    expect(sampleValue(metrics, "taskwire_queue_wait_seconds_count", { task })).toBe(1);
    expect(sampleValue(metrics, "taskwire_sse_replays_total")).toBe(1);
    expect(sampleValue(metrics, "taskwire_sse_streams_open")).toBe(0);
    expect(sampleValue(metrics, "taskwire_http_throttled_total", { limit: "startRate" })).toBe(0);
    // Bounded cardinality: no label carries a task id or an owner.
    expect(text).not.toContain(taskId);
    expect(text).not.toContain("alice");
  });

  it("counts the same in-process (prom-client's own JSON view), with a stream open while it runs", async () => {
    const { app, tw, metrics } = await createQuickstart({
      store: memoryStore(),
      logger: pino({ level: "silent" }),
    });
    onTestFinished(() => tw.close());
    const gauge = async () =>
      (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === "taskwire_sse_streams_open")
        ?.values[0]?.value;
    const server = app.listen(0);
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as { port: number };
    const stream = await openSSE(`http://127.0.0.1:${port}/api/tasks/${task}`, {
      method: "POST",
      headers: { cookie, accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ chunks: 2, chunkMs: 0 }),
    });
    const taskId = ((await stream.next()).data as { taskId: string }).taskId;
    expect(await gauge()).toBe(1);
    await stream.ended;
    await vi.waitFor(async () => expect(await gauge()).toBe(0));
    const sse = await parseSSEResponse(
      request(app).get(`/api/tasks/${taskId}/events`).set("cookie", cookie).set("last-event-id", "1"),
    );
    expect(sse.frames.at(-1)?.event).toBe("completed");
    const json = await metrics.registry.getMetricsAsJSON();
    const value = (name: string) => json.find((m) => m.name === name)?.values;
    expect(value("taskwire_tasks_started_total")).toEqual([{ value: 1, labels: { task } }]);
    expect(value("taskwire_tasks_finished_total")).toEqual([
      { value: 1, labels: { task, status: "completed" } },
    ]);
    expect(value("taskwire_sse_replays_total")).toEqual([{ value: 1, labels: {} }]);
  });
});
