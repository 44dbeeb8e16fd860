import { context, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { defineTask, memoryStore, runInUserContext } from "../src/index";
import { crashableStore, deferred, makeTaskflow } from "./helpers";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing = { tracerProvider: provider };
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  contextManager.disable();
  context.disable();
});
beforeEach(() => exporter.reset());

/** Starts `fn` with a request span active, as an HTTP server instrumentation would. */
async function underRequestSpan<T>(fn: () => Promise<T>): Promise<{ value: T; request: Span }> {
  const request = provider.getTracer("test").startSpan("POST /tasks");
  const value = await context.with(trace.setSpan(context.active(), request), fn);
  request.end();
  return { value, request };
}

const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("tracing", () => {
  it("makes one run span under the starting request's span and one step span per executed step under it", async () => {
    const pipeline = defineTask({
      name: "trace.pipeline",
      input: z.object({ secret: z.string() }),
      result: z.object({ n: z.number() }),
      async run(input, ctx) {
        const a = await ctx.step("a", () => 1);
        const b = await ctx.step("b", () => a + input.secret.length);
        return { n: b };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished, { tracing });
    const ref = taskflow.task(pipeline);
    const { value, request } = await underRequestSpan(() =>
      runInUserContext({ userId: "alice" }, () => taskflow.start(ref, { secret: "hunter2" })),
    );
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(1));
    const [run] = spans("taskwire.task.run") as [ReadableSpan];
    expect(run.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(run)).toBe(request.spanContext().spanId);
    expect(run.attributes).toEqual({
      "taskwire.task.name": "trace.pipeline",
      "taskwire.task.id": value.taskId,
      "taskwire.task.attempt": 1,
      "taskwire.task.status": "completed",
    });
    const steps = spans("taskwire.step");
    expect(steps.map((s) => s.attributes["taskwire.step.key"])).toEqual(["a#0", "b#0"]);
    for (const step of steps) {
      expect(parentOf(step)).toBe(run.spanContext().spanId);
      expect(step.spanContext().traceId).toBe(request.spanContext().traceId);
    }
    // Never payloads, results or owners.
    const dump = JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes));
    expect(dump).not.toContain("hunter2");
    expect(dump).not.toContain("alice");
  });

  it("uses the global tracer provider with tracing: true", async () => {
    trace.setGlobalTracerProvider(provider);
    onTestFinished(() => trace.disable());
    const def = defineTask({
      name: "trace.global",
      input: z.object({}),
      result: z.object({}),
      async run(_input, ctx) {
        await ctx.step("only", () => 1);
        return {};
      },
    });
    const taskflow = await makeTaskflow(onTestFinished, { tracing: true });
    const { value, request } = await underRequestSpan(() => taskflow.start(taskflow.task(def), {}));
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(1));
    const [run] = spans("taskwire.task.run") as [ReadableSpan];
    expect(run.attributes["taskwire.task.id"]).toBe(value.taskId);
    expect(parentOf(run)).toBe(request.spanContext().spanId);
    expect(spans("taskwire.step").map(parentOf)).toEqual([run.spanContext().spanId]);
  });

  it("parents the resumed run on the request's span after a crash, on another taskflow", async () => {
    const inner = memoryStore();
    const atB = deferred();
    const runsOfA = { count: 0 };
    const def = defineTask({
      name: "trace.resume",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      async run(_input, ctx) {
        await ctx.step("a", () => {
          runsOfA.count += 1;
        });
        await ctx.step("b", async () => {
          atB.resolve();
          await new Promise((resolve) => setTimeout(resolve, 20));
        });
        return { ok: true };
      },
    });
    const crashable = crashableStore(inner);
    const first = await makeTaskflow(onTestFinished, { store: crashable.store, tracing, leaseMs: 200 });
    const ref = first.task(def);
    const { value, request } = await underRequestSpan(() => first.start(ref, {}));
    await atB.promise;
    crashable.crash(); // step b's checkpoint never lands; A's run span never ends (a dead process exports nothing)

    const second = await makeTaskflow(onTestFinished, { store: inner, tracing, leaseMs: 200 });
    second.task(def);
    await vi.waitFor(async () => expect((await second.get(value.taskId)).status).toBe("completed"), {
      timeout: 5000,
    });
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(1));
    const [resumed] = spans("taskwire.task.run") as [ReadableSpan];
    expect(resumed.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(resumed)).toBe(request.spanContext().spanId);
    const steps = spans("taskwire.step");
    // Step a completed on the first node (its span ended there); the resumed run replays it without a span.
    expect(steps.map((s) => s.attributes["taskwire.step.key"])).toEqual(["a#0", "b#0"]);
    const [a, b] = steps as [ReadableSpan, ReadableSpan];
    expect(parentOf(b)).toBe(resumed.spanContext().spanId);
    expect(parentOf(a)).not.toBe(resumed.spanContext().spanId);
    expect(a.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(runsOfA.count).toBe(1);
  });

  it("hands back on shutdown: two run spans, both children of the request span, each with its steps", async () => {
    const inner = memoryStore();
    const release = deferred();
    const atB = deferred();
    const def = defineTask({
      name: "trace.handoff",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      async run(_input, ctx) {
        await ctx.step("a", () => 1);
        await ctx.step("b", async () => {
          atB.resolve();
          await Promise.race([release.promise, new Promise((r) => ctx.signal.addEventListener("abort", r))]);
          ctx.signal.throwIfAborted();
        });
        return { ok: true };
      },
    });
    const first = await makeTaskflow(onTestFinished, { store: wrapKeepOpen(inner), tracing });
    const ref = first.task(def);
    const { value, request } = await underRequestSpan(() => first.start(ref, {}));
    await atB.promise;
    await first.shutdown(); // the run is stopped and handed back: its span ends "queued"
    release.resolve();
    const second = await makeTaskflow(onTestFinished, { store: inner, tracing });
    second.task(def);
    await vi.waitFor(async () => expect((await second.get(value.taskId)).status).toBe("completed"));
    await vi.waitFor(() => expect(spans("taskwire.task.run")).toHaveLength(2));
    const runs = spans("taskwire.task.run");
    expect(runs.map((r) => r.attributes["taskwire.task.status"])).toEqual(["queued", "completed"]);
    for (const run of runs) expect(parentOf(run)).toBe(request.spanContext().spanId);
    const [firstRun, secondRun] = runs as [ReadableSpan, ReadableSpan];
    const steps = spans("taskwire.step");
    const byKey = (key: string) => steps.filter((s) => s.attributes["taskwire.step.key"] === key);
    expect(byKey("a#0").map(parentOf)).toEqual([firstRun.spanContext().spanId]);
    // b was in flight on the first run (its span failed with the stop) and ran again on the second.
    expect(byKey("b#0").map(parentOf)).toEqual([
      firstRun.spanContext().spanId,
      secondRun.spanContext().spanId,
    ]);
  });
});

/** The store with `close` a no-op, so the first taskflow's shutdown leaves it to the second. */
function wrapKeepOpen<T extends { close(): Promise<void> }>(store: T): T {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "close") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
