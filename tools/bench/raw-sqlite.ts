import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { nsToMs, percentile, perSecond } from "./stats";

/**
 * Raw better-sqlite3 baselines, with the pragmas `sqliteStore` ships (WAL, `synchronous` NORMAL or FULL,
 * `foreign_keys = ON`) and a table shaped like its step-checkpoint table. Every transaction is
 * `BEGIN IMMEDIATE … COMMIT` through prepared statements, as the store's write queue issues them; no
 * JavaScript beyond the loop, so these are what the disk and SQLite allow.
 */

/** SQLite `synchronous` levels `sqliteStore` offers. */
export type Synchronous = "NORMAL" | "FULL";

/** The pragmas of `@taskwire/sqlite` (packages/sqlite/src/connection.ts), minus the busy timeout. */
export const shippedPragmas = (synchronous: Synchronous): string[] => [
  "journal_mode = WAL",
  `synchronous = ${synchronous}`,
  "foreign_keys = ON",
];

function open(dir: string, name: string, synchronous: Synchronous) {
  const db = new Database(join(dir, name));
  for (const pragma of shippedPragmas(synchronous)) db.pragma(pragma);
  db.exec(`CREATE TABLE IF NOT EXISTS steps (
    task_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    key      TEXT NOT NULL,
    output   TEXT NOT NULL,
    emits    INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (task_id, position)
  ) WITHOUT ROWID`);
  const insert = db.prepare(
    "INSERT INTO steps (task_id, position, key, output, emits, at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  return { db, insert, begin, commit };
}

/** Single-row durable commits: rate and per-commit latency. */
export interface CommitResult {
  commitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** One INSERT per transaction, `count` times. */
export function rawCommits(dir: string, count: number, synchronous: Synchronous = "NORMAL"): CommitResult {
  const { db, insert, begin, commit } = open(dir, `raw-commits-${synchronous}.db`, synchronous);
  const latencies: number[] = new Array(count);
  const taskId = randomUUID();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    begin.run();
    insert.run(taskId, i, `s#${i}`, "null", 0, Date.now());
    commit.run();
    latencies[i] = nsToMs(process.hrtime.bigint() - t0);
  }
  const elapsed = nsToMs(process.hrtime.bigint() - started);
  db.close();
  return {
    commitsPerSec: perSecond(count, elapsed),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/**
 * A UUIDv7-shaped id (time prefix, random tail), the same scheme Taskwire uses for task ids, so the
 * floor and Taskwire pay the same B-tree locality.
 */
function timeOrderedId(): string {
  const time = Date.now().toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** Settings of {@link rawFloor}. */
export interface FloorOptions {
  /** Single-row transactions per task: 3 (one per checkpoint) or 5 (start + 3 checkpoints + settlement). */
  commitsPerTask: number;
  durationMs: number;
  synchronous: Synchronous;
}

/**
 * The hand-written sequential floor of a 3-step task: per task, `commitsPerTask` single-row INSERT
 * transactions under a fresh time-ordered task id, one task after another for `durationMs`. Returns
 * tasks/s. A durable engine must commit the start, each checkpoint and the settlement (5); 3 is the
 * checkpoints alone. Group commit across concurrent tasks can beat either.
 */
export function rawFloor(dir: string, options: FloorOptions): number {
  const name = `raw-floor-${options.commitsPerTask}-${options.synchronous}.db`;
  const { db, insert, begin, commit } = open(dir, name, options.synchronous);
  let tasks = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.durationMs;
  while (Date.now() < deadline) {
    const taskId = timeOrderedId();
    for (let position = 0; position < options.commitsPerTask; position++) {
      begin.run();
      insert.run(taskId, position, `s${position}#0`, "null", 0, Date.now());
      commit.run();
    }
    tasks += 1;
  }
  const elapsed = nsToMs(process.hrtime.bigint() - started);
  db.close();
  return perSecond(tasks, elapsed);
}
