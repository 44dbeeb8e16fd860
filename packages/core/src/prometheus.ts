/**
 * `@taskwire/core/prometheus`: Taskwire metrics for prom-client (an optional peer dependency).
 * `createTaskflow({ metrics: prometheusMetrics() })`, then serve its `registry`.
 */

export {
  type PrometheusMetrics,
  type PrometheusMetricsOptions,
  prometheusMetrics,
} from "./observe/prometheus-metrics";
