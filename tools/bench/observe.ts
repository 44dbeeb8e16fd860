import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { prometheusMetrics } from "@taskwire/core/prometheus";
import { type ThroughputOptions, type ThroughputResult, taskwireThroughput } from "./taskwire";

/**
 * `taskwireThroughput` with `prometheusMetrics()` (prom-client, every counter and histogram of the engine);
 * checks that every start was counted.
 */
export async function metricsThroughput(dir: string, options: ThroughputOptions): Promise<ThroughputResult> {
  const metrics = prometheusMetrics();
  const result = await taskwireThroughput(dir, {
    ...options,
    variant: { name: "metrics", options: { metrics } },
  });
  const started = (await metrics.registry.getMetricsAsJSON()).find(
    (m) => m.name === "taskwire_tasks_started_total",
  );
  if (started?.values[0]?.value !== result.tasks)
    throw new Error("the metrics run did not count every start");
  return result;
}

/**
 * `taskwireThroughput` with tracing through a real OpenTelemetry SDK: a `BasicTracerProvider` whose
 * `BatchSpanProcessor` hands spans to an exporter that drops them (the export is the collector's cost, not
 * Taskwire's), with an `AsyncLocalStorageContextManager` registered as an instrumented app has. Checks that
 * every run and step span (4 per task) was exported.
 */
export async function tracingThroughput(dir: string, options: ThroughputOptions): Promise<ThroughputResult> {
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
    const result = await taskwireThroughput(dir, {
      ...options,
      variant: { name: "tracing", options: { tracing: { tracerProvider: provider } } },
    });
    await provider.forceFlush();
    if (spans !== result.tasks * 4) throw new Error(`expected ${result.tasks * 4} spans, got ${spans}`);
    return result;
  } finally {
    await provider.shutdown();
    context.disable();
  }
}
