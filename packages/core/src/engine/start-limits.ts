import { BackpressureError, ValidationError } from "../errors/taskwire-error";
import type { StartRate } from "../store/start-rate";
import type { LimitedResult } from "../store/task-store";

/**
 * Limits on `taskflow.start`, enforced by the store atomically with the insert (so they hold across
 * nodes sharing it) and after the idempotency key (a start that re-attaches is never refused or charged).
 * They apply to root starts only (`ctx.spawn` children are not limited). A refused start throws a
 * `BackpressureError` whose `details.limit` names the limit (the express router answers 429).
 */
export interface TaskflowLimits {
  /**
   * A token bucket per owner (the user id; the service principal is one owner too), across task names:
   * `burst` starts at once, refilled at `perSecond`. Over it the start is refused with `retryAfterMs` =
   * the time until one token. @default no limit
   */
  startRate?: StartRate;
  /**
   * Refuse a start when this many tasks (all owners and names) are `queued`, i.e. the backlog no worker
   * has claimed yet. A start that this node's free worker slot runs at once is not queued and is not
   * refused. @default no limit
   */
  maxQueued?: number;
  /** `retryAfterMs` of the `maxQueued` refusal. @default 1000 */
  maxQueuedRetryAfterMs?: number;
  /**
   * At most this many tasks (all owners and names) *run* at once across the nodes sharing the store:
   * checked when a worker claims, so a task over it waits queued for a free slot rather than being
   * refused. Unlike `maxActivePerOwner` (queued, running, retrying and waiting tasks, checked at start),
   * only tasks executing under a live lease count. Every node must set the same value. @default no cap
   */
  maxRunning?: number;
  /** The same cap per owner: one user's tasks never take more than this many running slots. @default no cap */
  maxRunningPerOwner?: number;
}

/** Checks `createTaskflow`'s `limits` option; throws a `ValidationError` naming the bad field. */
export function checkLimits(limits: TaskflowLimits | undefined): TaskflowLimits {
  if (limits === undefined) return {};
  const bad = (path: string, message: string): never => {
    throw new ValidationError("taskflow limits", [{ path, message, code: "invalid_limit" }]);
  };
  const rate = limits.startRate;
  if (rate !== undefined) {
    if (!(Number.isFinite(rate.perSecond) && rate.perSecond > 0)) bad("startRate.perSecond", "must be > 0");
    if (!(Number.isInteger(rate.burst) && rate.burst >= 1)) bad("startRate.burst", "must be an integer ≥ 1");
  }
  if (limits.maxQueued !== undefined && !(Number.isInteger(limits.maxQueued) && limits.maxQueued >= 0)) {
    bad("maxQueued", "must be an integer ≥ 0");
  }
  for (const field of ["maxRunning", "maxRunningPerOwner"] as const) {
    const value = limits[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) bad(field, "must be an integer ≥ 1");
  }
  const retry = limits.maxQueuedRetryAfterMs;
  if (retry !== undefined && !(Number.isFinite(retry) && retry >= 0))
    bad("maxQueuedRetryAfterMs", "must be ≥ 0");
  return limits;
}

/** What {@link limitedError} needs besides the store's result. */
export interface LimitedContext {
  owner: string;
  limits: TaskflowLimits;
  /** The start's own `maxActivePerOwner` and `retryAfterMs` options. */
  maxActivePerOwner: number | undefined;
  retryAfterMs: number | undefined;
}

/** The `BackpressureError` of a start the store refused. */
export function limitedError(result: LimitedResult, ctx: LimitedContext): BackpressureError {
  switch (result.limit) {
    case "startRate": {
      const rate = ctx.limits.startRate;
      return new BackpressureError(
        `Owner ${ctx.owner} is over its start rate (burst ${rate?.burst}, ${rate?.perSecond}/s); retry later.`,
        result.retryAfterMs,
        "startRate",
      );
    }
    case "maxQueued":
      return new BackpressureError(
        `The backlog holds ${result.queued} queued tasks (limit ${ctx.limits.maxQueued}); retry later.`,
        ctx.limits.maxQueuedRetryAfterMs ?? 1000,
        "maxQueued",
      );
    default:
      return new BackpressureError(
        `Owner ${ctx.owner} already has ${result.active} active tasks (limit ${ctx.maxActivePerOwner}); retry later.`,
        ctx.retryAfterMs ?? 5000,
        "maxActivePerOwner",
      );
  }
}
