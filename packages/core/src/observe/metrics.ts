/** Terminal statuses a finished task is counted under. */
export type FinishedStatus = "completed" | "failed" | "cancelled";

/**
 * Receives Taskwire's counters and histograms (`createTaskflow({ metrics })`; `prometheusMetrics()` from
 * `@taskwire/core/prometheus` is one). Labels are task names only, never ids or owners, so cardinality stays
 * bounded. Called synchronously on the engine's hot path: implementations must be cheap and must not throw.
 * With no `metrics` option nothing is called (one `undefined` check per point).
 */
export interface TaskwireMetrics {
  /** A task was created: a start (not one deduplicated by an idempotency key) or a child spawn. */
  taskStarted(task: string): void;
  /** A task settled terminally; `durationMs` since it was created. */
  taskFinished(task: string, status: FinishedStatus, durationMs: number): void;
  /** A step body ran and its checkpoint was recorded (`durationMs` from its first attempt; replays are not counted). */
  stepCompleted(task: string, durationMs: number): void;
  /** A worker claimed a task `waitMs` after it became due (a crash reclaim is counted by `leaseReclaimed` instead). */
  queueWait(task: string, waitMs: number): void;
  /** A worker took over a task whose lease had expired (its previous worker died or hung). */
  leaseReclaimed(task: string): void;
  /** An SSE stream opened (`@taskwire/express`); each is closed exactly once by `sseStreamClosed`. */
  sseStreamOpened(): void;
  /** An SSE stream that `sseStreamOpened` counted ended. */
  sseStreamClosed(): void;
  /** An SSE stream opened with a resume cursor (`Last-Event-ID` or `?lastEventId=` above 0). */
  sseReplayed(): void;
  /** A start was refused with 429; `limit` is the refusing limit's `details.limit` (`startRate`, `maxQueued`, `maxActivePerOwner`). */
  httpThrottled(limit: string): void;
}
