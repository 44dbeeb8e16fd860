import { randomUUID } from "node:crypto";

/**
 * A new task id: a UUIDv7 (RFC 9562) — 48 bits of Unix milliseconds, then 74 random bits.
 *
 * Why not v4: every store keys its task, checkpoint, event and idempotency rows by task id. Random ids
 * scatter each commit's inserts over the whole B-tree, so a group commit dirties (and writes to the WAL)
 * a page per row; time-ordered ids land new rows on the right-most pages, a few pages per commit.
 * Uniqueness is unchanged (74 random bits per millisecond), and ids sort by creation time.
 */
export function newTaskId(nowMs: number = Date.now()): string {
  // randomUUID() draws from a pooled entropy buffer, cheaper than randomBytes() per id. Keep its random
  // tail (rand_a, variant, rand_b) and put the timestamp and version 7 in front.
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
  const time = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, "0").slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}
