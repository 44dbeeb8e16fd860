import { metricsThroughput, tracingThroughput } from "../observe";
import { row } from "../report";
import { repeatMedians, type Section } from "../section";
import { type ThroughputOptions, type ThroughputResult, taskwireThroughput } from "../taskwire";

/**
 * The cost of metrics and tracing: SQLite NORMAL throughput with `prometheusMetrics()` and with tracing
 * on a real OpenTelemetry SDK, each against the run without in the same repeat (paired ratios; the three
 * variants run in an order rotated per repeat so none always carries the first or last position).
 */
export const observeSection: Section = {
  name: "observe",
  async run(ctx) {
    const { config } = ctx;
    const { median, samples } = await repeatMedians(ctx, async (scale, repeat) => {
      const options: ThroughputOptions = {
        durationMs: Math.max(100, config.durationMs * scale),
        concurrency: config.concurrency,
        starters: config.starters,
      };
      const variants: Array<() => Promise<ThroughputResult>> = [
        () => taskwireThroughput(ctx.dir, options),
        () => metricsThroughput(ctx.dir, options),
        () => tracingThroughput(ctx.dir, options),
      ];
      const out = [0, 0, 0];
      for (let k = 0; k < variants.length; k++) {
        const index = (k + repeat) % variants.length;
        out[index] = (await variants[index]!()).tasksPerSec;
      }
      const [off = 0, metrics = 0, tracing = 0] = out;
      return { off, metrics, tracing, metricsVsOff: metrics / off, tracingVsOff: tracing / off };
    });
    const limit = { label: "the same run without", value: median.off };
    return {
      samples,
      rows: [
        row("observe", {
          id: "metrics",
          scenario: `SQLite NORMAL tasks/s with metrics (prometheusMetrics), ${config.starters} starters`,
          ours: median.metrics,
          unit: "tasks/s",
          limit,
          ratio: median.metricsVsOff,
        }),
        row("observe", {
          id: "tracing",
          scenario: "the same with tracing (OTel SDK, batch processor, spans dropped)",
          ours: median.tracing,
          unit: "tasks/s",
          limit,
          ratio: median.tracingVsOff,
        }),
      ],
    };
  },
};
