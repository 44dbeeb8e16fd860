import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { nsToMs, percentile, perSecond } from "./stats";

/**
 * Raw better-sqlite3 baselines, with the pragmas `sqliteStore` ships (WAL, `synchronous = NORMAL`,
 * `foreign_keys = ON`) and a table shaped like its step-checkpoint table. Every transaction is
 * `BEGIN IMMEDIATE … COMMIT` through prepared statements, as the store's write queue issues them; no
 * JavaScript beyond the loop, so these are what the disk and SQLite allow.
 */

/** The pragmas of `@taskwire/sqlite` (packages/sqlite/src/connection.ts), minus the busy timeout. */
export const SHIPPED_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"] as const;

function open(dir: string, name: string) {
  const db = new Database(join(dir, name));
  for (const pragma of SHIPPED_PRAGMAS) db.pragma(pragma);
  db.exec(`CREATE TABLE steps (
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
export function rawCommits(dir: string, count: number): CommitResult {
  const { db, insert, begin, commit } = open(dir, "raw-commits.db");
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

/**
 * The hand-written floor of a 3-step task: per task, three single-row INSERT transactions (one per
 * checkpoint) under a fresh time-ordered task id. `tasksPerTx > 1` batches that many
 * tasks' rows into one transaction (context only: a durable engine cannot batch one task's sequential
 * steps, only concurrent tasks').
 */
export function rawFloor(dir: string, tasks: number, tasksPerTx = 0): number {
  const { db, insert, begin, commit } = open(dir, tasksPerTx > 0 ? "raw-batched.db" : "raw-floor.db");
  const started = process.hrtime.bigint();
  if (tasksPerTx === 0) {
    for (let t = 0; t < tasks; t++) {
      const taskId = timeOrderedId();
      for (let position = 0; position < 3; position++) {
        begin.run();
        insert.run(taskId, position, `s${position}#0`, "null", 0, Date.now());
        commit.run();
      }
    }
  } else {
    for (let t = 0; t < tasks; t += tasksPerTx) {
      begin.run();
      for (let k = t; k < Math.min(tasks, t + tasksPerTx); k++) {
        const taskId = timeOrderedId();
        for (let position = 0; position < 3; position++) {
          insert.run(taskId, position, `s${position}#0`, "null", 0, Date.now());
        }
      }
      commit.run();
    }
  }
  const elapsed = nsToMs(process.hrtime.bigint() - started);
  db.close();
  return perSecond(tasks, elapsed);
}
