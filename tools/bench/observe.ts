import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { prometheusMetrics } from "@taskwire/core/prometheus";
import { type ThroughputOptions, taskwireThroughput } from "./taskwire";

/**
 * `taskwireThroughput` with `prometheusMetrics()` (prom-client, every counter and histogram of the engine);
 * checks that every start was counted.
 */
export async function metricsThroughput(dir: string, options: ThroughputOptions): Promise<number> {
  const metrics = prometheusMetrics();
  const tasksPerSec = await taskwireThroughput(dir, {
    ...options,
    variant: { name: "metrics", options: { metrics } },
  });
  const started = (await metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === "taskwire_tasks_started_total",
  );
  if (started?.values[0]?.value !== options.tasks)
    throw new Error("the metrics run did not count every start");
  return tasksPerSec;
}

/**
 * `taskwireThroughput` with tracing through a real OpenTelemetry SDK: a `BasicTracerProvider` whose
 * `BatchSpanProcessor` hands spans to an exporter that drops them (the export is the collector's cost, not
 * Taskwire's), with an `AsyncLocalStorageContextManager` registered as an instrumented app has. Checks that
 * every run and step span (4 per task) was exported.
 */
export async function tracingThroughput(dir: string, options: ThroughputOptions): Promise<number> {
  let spans = 0;
  const exporter: SpanExporter = {
    export: (batch, done) => {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536 })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  try {
    const tasksPerSec = await taskwireThroughput(dir, {
      ...options,
      variant: { name: "tracing", options: { tracing: { tracerProvider: provider } } },
    });
    await provider.forceFlush();
    if (spans !== options.tasks * 4) throw new Error(`expected ${options.tasks * 4} spans, got ${spans}`);
    return tasksPerSec;
  } finally {
    await provider.shutdown();
    context.disable();
  }
}
