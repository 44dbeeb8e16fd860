/** How failed attempts (of a task, or of one step) are retried. */
export interface RetryPolicy {
  /**
   * Total attempts including the first.
   * @default 3 for tasks, 1 (no in-process retry) for steps
   */
  maxAttempts?: number;
  /** @default "exponential" */
  backoff?: "exponential" | "fixed";
  /** Delay before the second attempt. @default 1000 */
  initialDelayMs?: number;
  /** Upper bound of any delay. @default 60000 */
  maxDelayMs?: number;
  /** Randomise each delay within [delay/2, delay] to spread retries. @default true */
  jitter?: boolean;
}

/** A {@link RetryPolicy} with every field filled. */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/** Defaults for task-level retries. */
export const DEFAULT_TASK_RETRY: ResolvedRetryPolicy = Object.freeze({
  maxAttempts: 3,
  backoff: "exponential",
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  jitter: true,
});

/** Defaults for step-level retries: none, the task-level policy handles failures. */
export const DEFAULT_STEP_RETRY: ResolvedRetryPolicy = Object.freeze({
  ...DEFAULT_TASK_RETRY,
  maxAttempts: 1,
});

/** Fills a policy with defaults. */
export function resolveRetryPolicy(
  policy: RetryPolicy | undefined,
  base: ResolvedRetryPolicy,
): ResolvedRetryPolicy {
  if (policy === undefined) return base; // the common case: every step call without options
  const out = { ...base, ...stripUndefined(policy) };
  if (!Number.isInteger(out.maxAttempts) || out.maxAttempts < 1) out.maxAttempts = 1;
  return out;
}

/** Delay before attempt `nextAttempt` (2 for the first retry). */
export function retryDelayMs(policy: ResolvedRetryPolicy, nextAttempt: number, random = Math.random): number {
  const n = Math.max(0, nextAttempt - 2);
  const raw = policy.backoff === "fixed" ? policy.initialDelayMs : policy.initialDelayMs * 2 ** n;
  const capped = Math.min(policy.maxDelayMs, raw);
  return Math.round(policy.jitter ? capped / 2 + random() * (capped / 2) : capped);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
