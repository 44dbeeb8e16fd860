/**
 * The start-rate token bucket, shared by the stores that compute it in JavaScript (memory, SQLite); the
 * PostgreSQL store computes the same formula in SQL. One bucket per owner: it holds at most `burst`
 * tokens, refills continuously at `perSecond`, and each admitted start takes one token.
 */

/** A per-owner start rate: `burst` starts at once, then `perSecond` on average. */
export interface StartRate {
  /** Tokens added per second (may be fractional: 0.5 = one start every 2 s). */
  perSecond: number;
  /** Bucket size: how many starts an owner with a full bucket may make at once (an integer ≥ 1). */
  burst: number;
}

/** The stored state of one owner's bucket: tokens left at `updatedAt` (ms, the engine clock). */
export interface TokenBucket {
  tokens: number;
  updatedAt: number;
}

/** What {@link takeStartToken} decided: the bucket to store, or how long until one token is there. */
export type TokenTake = { admitted: true; bucket: TokenBucket } | { admitted: false; retryAfterMs: number };

// Refills are products of floats; a bucket a hair below one token after an exact refill counts as full.
const EPSILON = 1e-9;

/**
 * Takes one token from `bucket` (undefined: a new, full bucket) at `now`. A clock behind the bucket's
 * `updatedAt` (another node's) refills nothing and does not move `updatedAt` back. Pure: the caller
 * stores the returned bucket in the same transaction as the insert it admits.
 */
export function takeStartToken(bucket: TokenBucket | undefined, rate: StartRate, now: number): TokenTake {
  const elapsed = bucket === undefined ? 0 : Math.max(0, now - bucket.updatedAt);
  const available =
    bucket === undefined
      ? rate.burst
      : Math.min(rate.burst, bucket.tokens + (elapsed * rate.perSecond) / 1000);
  const updatedAt = bucket === undefined ? now : Math.max(bucket.updatedAt, now);
  if (available + EPSILON >= 1) return { admitted: true, bucket: { tokens: available - 1, updatedAt } };
  return { admitted: false, retryAfterMs: retryAfterMsFor(available, rate) };
}

/** Milliseconds until a bucket holding `available` tokens holds one (at least 1). */
export function retryAfterMsFor(available: number, rate: StartRate): number {
  return Math.max(1, Math.ceil(((1 - available) * 1000) / rate.perSecond - EPSILON));
}
