import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { FinishedStatus, TaskwireMetrics } from "./metrics";

/** Options of {@link prometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Where the metrics are registered (prom-client's global `register` joins the default registry). @default a new `Registry` */
  registry?: Registry;
  /** Prefix of every metric name. @default "taskwire_" */
  prefix?: string;
  /** Buckets of the step duration histogram, in seconds. @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] */
  stepBuckets?: number[];
  /** Buckets of the queue wait histogram, in seconds. @default [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300] */
  queueWaitBuckets?: number[];
}

/** A {@link TaskwireMetrics} backed by prom-client, with the registry to expose. */
export interface PrometheusMetrics extends TaskwireMetrics {
  /** The registry holding the metrics: serve `await registry.metrics()` as `registry.contentType`. */
  readonly registry: Registry;
}

const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300];

/**
 * Taskwire metrics in Prometheus form: `taskwire_tasks_started_total{task}`,
 * `taskwire_tasks_finished_total{task,status}`, `taskwire_step_duration_seconds{task}`,
 * `taskwire_queue_wait_seconds{task}`, `taskwire_lease_reclaims_total{task}`, `taskwire_sse_streams_open`,
 * `taskwire_sse_replays_total`, `taskwire_http_throttled_total{limit}`. Labels are task names, statuses and
 * limit names only.
 * @example
 * const metrics = prometheusMetrics();
 * const taskflow = await createTaskflow({ store, metrics });
 * app.get("/metrics", async (_req, res) => res.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? "taskwire_";
  const registers = [registry];
  const started = new Counter({
    name: `${p}tasks_started_total`,
    help: "Tasks created (starts and child spawns), by task name.",
    labelNames: ["task"],
    registers,
  });
  const finished = new Counter({
    name: `${p}tasks_finished_total`,
    help: "Tasks that settled terminally, by task name and status (completed, failed, cancelled).",
    labelNames: ["task", "status"],
    registers,
  });
  const stepDuration = new Histogram({
    name: `${p}step_duration_seconds`,
    help: "Duration of executed steps (first attempt to checkpoint), by task name.",
    labelNames: ["task"],
    buckets: options.stepBuckets ?? STEP_BUCKETS,
    registers,
  });
  const queueWait = new Histogram({
    name: `${p}queue_wait_seconds`,
    help: "Time from due to claimed, by task name.",
    labelNames: ["task"],
    buckets: options.queueWaitBuckets ?? WAIT_BUCKETS,
    registers,
  });
  const reclaims = new Counter({
    name: `${p}lease_reclaims_total`,
    help: "Tasks taken over after their lease expired (a worker died or hung), by task name.",
    labelNames: ["task"],
    registers,
  });
  const streamsOpen = new Gauge({
    name: `${p}sse_streams_open`,
    help: "SSE streams open in this process.",
    registers,
  });
  const replays = new Counter({
    name: `${p}sse_replays_total`,
    help: "SSE streams opened with a resume cursor (Last-Event-ID).",
    registers,
  });
  const throttled = new Counter({
    name: `${p}http_throttled_total`,
    help: "Starts refused with 429, by the limit that refused them.",
    labelNames: ["limit"],
    registers,
  });
  // Exported as 0 from the start, so a rate() over them works before the first refusal.
  for (const limit of ["startRate", "maxQueued", "maxActivePerOwner"]) throttled.labels(limit).inc(0);

  // prom-client hashes the label object on every call; a child per task name is looked up once.
  const perTask = <T>(make: (task: string) => T) => {
    const children = new Map<string, T>();
    return (task: string): T => {
      let child = children.get(task);
      if (child === undefined) {
        child = make(task);
        children.set(task, child);
      }
      return child;
    };
  };
  const startedOf = perTask((task) => started.labels(task));
  const stepOf = perTask((task) => stepDuration.labels(task));
  const waitOf = perTask((task) => queueWait.labels(task));
  const finishedOf = perTask((key) => {
    const [task = "", status = ""] = key.split("\n");
    return finished.labels(task, status);
  });

  return {
    registry,
    taskStarted: (task) => startedOf(task).inc(),
    taskFinished: (task, status: FinishedStatus) => finishedOf(`${task}\n${status}`).inc(),
    stepCompleted: (task, durationMs) => stepOf(task).observe(durationMs / 1000),
    queueWait: (task, waitMs) => waitOf(task).observe(waitMs / 1000),
    leaseReclaimed: (task) => reclaims.inc({ task }),
    sseStreamOpened: () => streamsOpen.inc(),
    sseStreamClosed: () => streamsOpen.dec(),
    sseReplayed: () => replays.inc(),
    httpThrottled: (limit) => throttled.labels(limit).inc(),
  };
}
