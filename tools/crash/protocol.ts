/** What the crash-harness parent and its child share: settings and the report-line protocol. */

/**
 * Lease of the child's taskflow: short, so a restarted child reclaims a dead child's task quickly, yet
 * with a heartbeat every leaseMs/3 a live child would have to stall for over 300 ms to lose it.
 */
export const CRASH_LEASE_MS = 500;
/** Worker poll interval of the child (how fast it notices the expired lease). */
export const CRASH_POLL_MS = 20;
/** The idempotency key every life starts with: later lives attach to the first life's run. */
export const CRASH_IDEMPOTENCY_KEY = "crash-harness-run";
/** File descriptor the child writes its report lines to. */
export const REPORT_FD = 3;

/** How a life may end early: frozen at the point, or killed a few ms after it while still running. */
export type KillStyle = "freeze" | "run";

/** One report line from the child (JSON). */
export type WorkerMessage =
  | { type: "point"; n: number; name: string; kill: boolean }
  | { type: "started"; taskId: string; created: boolean; mode: "start" | "resume" }
  | { type: "terminal"; name: string };

/** Kinds of points of interest and how often each occurs in a full, uninterrupted run. */
export const POINT_KINDS = {
  /** Inside a step body, after its execution was counted, before it returns. */
  body: 6,
  /** The body returned and its events are durable; the checkpoint append is about to be queued. */
  "step-append": 6,
  /** The checkpoint append resolved (durable); the engine has not seen it yet. */
  "step-committed": 6,
  /** In the task body after a step call returned (first run or replay), before the next emit. */
  between: 6,
  /** An event append is about to be queued. */
  "event-append": 11,
  /** An event append resolved (durable). */
  "event-committed": 11,
  /** The terminal settlement is about to be written. */
  settle: 1,
  /** The settlement committed; subscribers have not seen the terminal event yet. */
  settled: 1,
} as const;
/** A point kind. */
export type PointKind = keyof typeof POINT_KINDS;
