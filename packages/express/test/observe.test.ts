import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { prometheusMetrics } from "@taskwire/core/prometheus";
import { openSSE, parseSSEResponse } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, blockingTask, makeHarness, newKey, release } from "./helpers";

type Metrics = ReturnType<typeof prometheusMetrics>;
const valuesOf = async (metrics: Metrics, name: string) =>
  (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? [];
const single = async (metrics: Metrics, name: string) => (await valuesOf(metrics, name))[0]?.value;

/** The `domain.action_state` shape every engine, store and bridge log event has. */
const EVENT_NAME = /^[a-z]+\.[a-z]+(_[a-z]+)+$/;

describe("logs", () => {
  it("walks one task's life over the router and an SSE stream: domain.action_state events in order, with task fields", async () => {
    const h = await makeHarness(onTestFinished);
    const sse = await parseSSEResponse(
      request(h.tw.app)
        .post("/api/tasks/test.quick")
        .set(alice)
        .set("accept", "text/event-stream")
        .send({ n: 2 }),
    );
    expect(sse.frames.at(-1)?.event).toBe("completed");
    const taskId = (sse.frames[0]!.data as { taskId: string }).taskId;
    const replay = await parseSSEResponse(
      request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice).set("last-event-id", "1"),
    );
    expect(replay.frames.at(-1)?.event).toBe("completed");
    await vi.waitFor(() => expect(h.log.find("sse.stream_closed", { taskId })).toHaveLength(2));

    const mine = h.log.records.filter((r) => r.taskId === taskId);
    const names = (domain: string) =>
      mine.map((r) => r.event as string).filter((name) => name.startsWith(`${domain}.`));
    // The engine's sequence is fixed; the stream's runs beside it (its open may come before or after the claim).
    expect(names("task")).toEqual([
      "task.start_accepted",
      "task.claim_acquired",
      "task.run_started",
      "task.step_completed",
      "task.step_completed",
      "task.run_completed",
    ]);
    expect(names("sse")).toEqual([
      "sse.stream_opened",
      "sse.stream_closed",
      "sse.stream_opened",
      "sse.stream_closed",
    ]);
    expect(mine).toHaveLength(10);
    for (const record of h.log.records) expect(record.event).toMatch(EVENT_NAME);
    for (const record of mine) expect(record.task).toBe("test.quick");
    const run = mine.filter((r) =>
      ["task.claim_acquired", "task.run_started", "task.step_completed", "task.run_completed"].includes(
        r.event as string,
      ),
    );
    for (const record of run) expect(record.attempt).toBe(1);
    for (const name of ["task.step_completed", "task.run_completed", "sse.stream_closed"]) {
      for (const record of h.log.find(name, { taskId }))
        expect(record.durationMs).toEqual(expect.any(Number));
    }
    expect(h.log.find("sse.stream_opened", { taskId }).map((r) => r.cursor)).toEqual([0, 1]);
    // Never payloads or tokens.
    expect(h.log.text()).not.toContain("alice-secret-token");
    expect(h.log.text()).not.toContain("1152921504606846977"); // the tick payload's BigInt
  });
});

describe("bridge metrics", () => {
  it("counts open SSE streams up and down, replays by Last-Event-ID, and 429s", async () => {
    const metrics = prometheusMetrics();
    const h = await makeHarness(onTestFinished, {
      taskflowOptions: { metrics },
      limits: { maxActiveTasksPerOwner: 1 },
    });
    const base = await h.listen();
    const key = newKey();
    const first = await openSSE(`${base}/api/tasks/test.blocking`, {
      method: "POST",
      headers: { ...alice, accept: "text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ key }),
    });
    const taskId = ((await first.next()).data as { taskId: string }).taskId;
    await first.waitForFrame((f) => f.event === "tick");
    const second = await openSSE(`${base}/api/tasks/${taskId}/events`, {
      headers: { ...alice, "last-event-id": "1" },
    });
    expect((await second.next()).event).toBe("ready");
    expect(await single(metrics, "taskwire_sse_streams_open")).toBe(2);
    expect(await single(metrics, "taskwire_sse_replays_total")).toBe(1);

    const limited = await request(h.tw.app).post("/api/tasks/test.quick").set(alice).send({ n: 1 });
    expect(limited.status).toBe(429);
    expect(await valuesOf(metrics, "taskwire_http_throttled_total")).toContainEqual({
      value: 1,
      labels: { limit: "maxActivePerOwner" },
    });

    release(key);
    await Promise.all([first.ended, second.ended]);
    await vi.waitFor(async () => expect(await single(metrics, "taskwire_sse_streams_open")).toBe(0));
    expect(await valuesOf(metrics, "taskwire_tasks_finished_total")).toEqual([
      { value: 1, labels: { task: blockingTask.name, status: "completed" } },
    ]);
  });
});

describe("tracing over HTTP", () => {
  it("parents a task's run span on the request's traceparent header", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const h = await makeHarness(onTestFinished, {
      taskflowOptions: { tracing: { tracerProvider: provider } },
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const res = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("traceparent", `00-${traceId}-${parentId}-01`)
      .send({ n: 2 });
    expect(res.status).toBe(202);
    const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(1));
    const [run] = spans("taskwire.task.run") as [ReadableSpan];
    expect(run.spanContext().traceId).toBe(traceId);
    expect(run.parentSpanContext?.spanId).toBe(parentId);
    expect(run.attributes["taskwire.task.id"]).toBe(res.body.taskId);
    const steps = spans("taskwire.step");
    expect(steps.map((s) => s.attributes["taskwire.step.key"])).toEqual(["after-1#0", "after-2#0"]);
    for (const step of steps) expect(step.parentSpanContext?.spanId).toBe(run.spanContext().spanId);

    // A malformed header is ignored: the run is a root span of its own trace.
    exporter.reset();
    await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("traceparent", "00-zz-yy-01")
      .send({ n: 1 });
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(1));
    expect(spans("taskwire.task.run")[0]?.parentSpanContext).toBeUndefined();
  });
});
