/** What the crash-harness parent and its child share: settings, the child's arguments and the report lines. */

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

/**
 * What a child process does: run the 6-step pipeline task, run the flow (a parent fanning out children,
 * then waiting for a signal), run the flow without the signal ("waves"), or deliver the flow's signal.
 */
export type Workload = "pipeline" | "flow" | "waves" | "signal";

/** The child's only argument (JSON): everything one life needs. */
export interface LifeConfig {
  workload: Workload;
  dbPath: string;
  /** The file body executions are counted in (outside the database). */
  countsFile: string;
  /** `start` creates the task (life 1); `resume` attaches to it with the same idempotency key. */
  mode: "start" | "resume";
  seed: number;
  /** The kill point: `any:<n>`, `<kind>:<n>`, `=<exact point name>` (first occurrence) or `none`. */
  killAt: string;
  style: KillStyle;
  /** Flow and waves: how many children the parent fans out. */
  width?: number;
  /** Signal workload: what to deliver, to which task. */
  signal?: SignalSpec;
}

/** One signal delivery: the same key on every attempt, so a re-delivery after a crash is a duplicate. */
export interface SignalSpec {
  taskId: string;
  token: string;
  idempotencyKey: string;
}

/** One report line from the child (JSON). */
export type WorkerMessage =
  | { type: "point"; n: number; name: string; kill: boolean }
  | { type: "started"; taskId: string; created: boolean; mode: "start" | "resume" }
  | { type: "terminal"; name: string }
  | { type: "signalled"; index: number; duplicate: boolean };

/** Kinds of points of interest and how often each occurs in a full, uninterrupted pipeline run. */
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
/** A point kind of the pipeline. */
export type PointKind = keyof typeof POINT_KINDS;

/**
 * Kinds of points of the flow workloads (every pipeline kind, for the parent and each child, plus the
 * flow windows) and roughly how often each occurs in a full run: replays of the parent add `between`
 * points, and how often it parks depends on timing, so these are estimates for drawing kill points.
 */
export function flowPointKinds(width: number, signal: boolean): Record<FlowPointKind, number> {
  const extra = signal ? 1 : 0;
  return {
    body: 2 + extra + 2 * width,
    // plan, one `result:` per child, join (+ the signal checkpoint and finish) + 2 steps per child
    "step-append": 2 + 2 * extra + 3 * width,
    "step-committed": 2 + 2 * extra + 3 * width,
    between: 6 + 2 * extra + 2 * width,
    "event-append": 4 + extra + 4 * width,
    "event-committed": 4 + extra + 4 * width,
    /** The parent's spawn write (child row + spawn checkpoint + `child` event) is about to be queued. */
    spawn: width,
    /** The spawn write committed. */
    spawned: width,
    /** A `waiting` settlement (the parent parks on its children or on the signal) is about to be written. */
    park: 1 + extra,
    /** The `waiting` settlement committed: the parent holds no lease; the worker runs children or idles. */
    parked: 1 + extra,
    settle: 1 + width,
    settled: 1 + width,
    /** The parent is about to wait for the signal (every replay that gets there). */
    "await-signal": extra,
  };
}
/** A point kind of the flow workloads. */
export type FlowPointKind = PointKind | "spawn" | "spawned" | "park" | "parked" | "await-signal";

/** Points of the signal workload: just before the delivery is queued, and once it committed. */
export const SIGNAL_POINT_KINDS = { deliver: 1, delivered: 1 } as const;
