import type { StepRecord } from "@taskwire/core/store";
import type Database from "better-sqlite3";
import { type DebounceStatements, prepareDebounceStatements } from "./debounce";
import { type FlowStatements, prepareFlowStatements } from "./flow-statements";
import { type LimitedClaimStatements, prepareLimitedClaimStatements } from "./limited-claim";
import { prepareRetentionStatements, type RetentionStatements } from "./retention";
import { TASK_COLUMNS, type TaskRow, type TaskValues } from "./rows";
import { ACTIVE, BOUND_LIMIT, FENCE, IN_JSON, NOT_EMITTED, type Prepare, type Stmt } from "./sql";

type Db = Database.Database;

/** A claimable row: {@link TaskValues}, its rowid (the tie-break of equal `run_at`), then its fair turn. */
export type ClaimRow = [...TaskValues, rowid: number, fair_seq: number];

/** Indexes into a {@link ClaimRow}. */
export const CLAIM_ROW = {
  id: 0,
  name: 1,
  revision: 3,
  owner: 7,
  runAt: 11,
  priority: 20,
  rowid: 21,
  fairSeq: 22,
} as const;

/** Claim order: priority desc, fair turn, oldest `run_at`, then insertion order. */
export function byClaimOrder(a: ClaimRow, b: ClaimRow): number {
  return (
    b[CLAIM_ROW.priority] - a[CLAIM_ROW.priority] ||
    a[CLAIM_ROW.fairSeq] - b[CLAIM_ROW.fairSeq] ||
    a[CLAIM_ROW.runAt] - b[CLAIM_ROW.runAt] ||
    a[CLAIM_ROW.rowid] - b[CLAIM_ROW.rowid]
  );
}

/** Claim candidates of one kind, oldest first: `(bound, name or JSON array of names, limit)`. */
export type ClaimList = Stmt<[number, string, number], ClaimRow>;

/**
 * One claim path: a range of the partial claim index read in (run_at, rowid) order, stopping at the limit.
 * The paths are separate statements, merged by the caller only when more than one returns rows: a
 * UNION of the four, sorted again, cost a co-routine and temp B-trees on every claim, even an empty one.
 */
function claimList(p: Prepare, where: string, name: string) {
  return p<[number, string, number], ClaimRow>(
    `SELECT ${TASK_COLUMNS}, rowid, fair_seq FROM taskwire_tasks
     WHERE ${ACTIVE} AND ${where} AND name ${name} ORDER BY run_at, rowid ${BOUND_LIMIT}`,
  ).raw();
}

/** The predicate of the queue index (migration 7), verbatim. */
const QUEUED = "status = 'queued' AND lease_expires_at IS NULL";

/** The queued path: the queue index (migration 7) in claim order — priority desc, fair turn, run_at. */
function queueList(p: Prepare, name: string) {
  return p<[number, string, number], ClaimRow>(
    `SELECT ${TASK_COLUMNS}, rowid, fair_seq FROM taskwire_tasks INDEXED BY taskwire_tasks_queue
     WHERE ${QUEUED} AND run_at <= ? AND name ${name}
     ORDER BY priority DESC, fair_seq, run_at, rowid ${BOUND_LIMIT}`,
  ).raw();
}

/*
 * The two widest writes bind positionally: better-sqlite3 resolves a named parameter per call by building
 * its name and looking it up on the object (measured ~0.1 us per parameter), and these run once per task.
 */

/** Parameters of {@link Statements.insertTask}, in order. */
export type InsertTaskParams = [
  id: string,
  name: string,
  status: string,
  revision: number,
  input: string,
  owner: string,
  identity: string | null,
  claims: number,
  run_at: number,
  lease_owner: string | null,
  lease_expires_at: number | null,
  parent_id: string | null,
  created_at: number,
  updated_at: number,
  priority: number,
  owner_again: string,
  priority_again: number,
];

/** A terminal task as {@link Statements.finished} reads it back: what its parent's `child` event needs. */
export type FinishedRow = [name: string, parent_id: string | null, last_seq: number];

/** Parameters of {@link Statements.settle}, in order. */
export type SettleParams = [
  status: string,
  updated_at: number,
  result: string | null,
  error: string | null,
  attempt_inc: number,
  run_at: number | null,
  terminal: number,
  id: string,
  revision: number,
  worker: string,
];

/** Parameters of {@link Statements.insertStep}, in order: the checkpoint, then the fence. */
export type InsertStepParams = [
  task_id: string,
  position: number,
  key: string,
  output: string,
  emits: number,
  started_at: number,
  at: number,
  attempts: number,
  fence_id: string,
  fence_revision: number,
  fence_worker: string,
];

/** The prepared statements of one connection (see {@link prepareStatements}). */
export interface Statements
  extends FlowStatements,
    RetentionStatements,
    LimitedClaimStatements,
    DebounceStatements {
  begin: Stmt<[]>;
  commit: Stmt<[]>;
  rollback: Stmt<[]>;
  getTask: Stmt<[string], TaskRow>;
  insertTask: Stmt<InsertTaskParams>;
  getIdempotency: Stmt<[string, string, string], { task_id: string; input_hash: string; expires_at: number }>;
  putIdempotency: Stmt<[string, string, string, string, string, number]>;
  countActive: Stmt<[string], number>;
  countQueued: Stmt<[], number>;
  getBucket: Stmt<[string], { tokens: number; updated_at: number }>;
  putBucket: Stmt<[string, number, number]>;
  claimQueued: ClaimList;
  claimQueuedIn: ClaimList;
  claimRetrying: ClaimList;
  claimRetryingIn: ClaimList;
  claimWaiting: ClaimList;
  claimWaitingIn: ClaimList;
  claimExpired: ClaimList;
  claimExpiredIn: ClaimList;
  claim: Stmt<[string, number, number, number, number]>;
  renew: Stmt<[number, string, number, string], { cancel_requested_at: number | null }>;
  cancelRequestedAt: Stmt<[string], { cancel_requested_at: number | null }>;
  insertStep: Stmt<InsertStepParams>;
  advanceEmit: Stmt<[string, number, string, number]>;
  insertEvent: Stmt<[string, number, string, string, number]>;
  settle: Stmt<SettleParams>;
  lastSeq: Stmt<[string], number>;
  finished: Stmt<[string], FinishedRow>;
  notify: Stmt<[number, number, number, string]>;
  cancelWaiting: Stmt<[number, number, string, number], TaskRow>;
  cancelRunning: Stmt<[number, number, string, number], TaskRow>;
  loadSteps: Stmt<[string], StepRecord>;
  loadEventNames: Stmt<[string], string>;
  readEvents: Stmt<[string, number, number], { seq: number; name: string; data: string; at: number }>;
  dataVersion: Stmt<[], number>;
  pendingCancels: Stmt<[], string>;
}

/**
 * Every statement the store runs, prepared once per connection. Preparing is the expensive part of a
 * better-sqlite3 call; a cached statement costs one bind and one step.
 */
export function prepareStatements(db: Db): Statements {
  const p: Prepare = <P extends unknown[], R = unknown>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql);
  return {
    ...prepareFlowStatements(p),
    ...prepareRetentionStatements(p),
    ...prepareLimitedClaimStatements(p),
    ...prepareDebounceStatements(p),
    begin: p<[]>("BEGIN IMMEDIATE"),
    commit: p<[]>("COMMIT"),
    rollback: p<[]>("ROLLBACK"),

    getTask: p<[string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM taskwire_tasks WHERE id = ?`),
    insertTask: p<InsertTaskParams>(
      // The fair turn: one past the owner's highest unfinished turn, never below the lowest queued turn at
      // this priority (each a single seek: the owner index and the queue index of migration 7).
      `INSERT INTO taskwire_tasks (${TASK_COLUMNS}, fair_seq) VALUES (?, ?, ?, ?,
        ?, NULL, NULL, ?, ?, 1, ?, ?, ?, ?, NULL,
        0, 0, ?, ?, ?, ?,
        max(coalesce((SELECT max(fair_seq) + 1 FROM taskwire_tasks WHERE owner = ? AND ${ACTIVE}), 0),
            coalesce((SELECT min(fair_seq) FROM taskwire_tasks WHERE ${QUEUED} AND priority = ?), 0)))
       ON CONFLICT (id) DO NOTHING`,
    ),
    getIdempotency: p<[string, string, string], { task_id: string; input_hash: string; expires_at: number }>(
      `SELECT task_id, input_hash, expires_at FROM taskwire_idempotency
       WHERE owner = ? AND task_name = ? AND key = ?`,
    ),
    putIdempotency: p<[string, string, string, string, string, number]>(
      `INSERT INTO taskwire_idempotency (owner, task_name, key, task_id, input_hash, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (owner, task_name, key) DO UPDATE SET
         task_id = excluded.task_id, input_hash = excluded.input_hash, expires_at = excluded.expires_at`,
    ),

    // Through the partial owner index (migration 3); only `maxActivePerOwner` starts run it.
    countActive: p<[string], number>(
      `SELECT count(*) FROM taskwire_tasks
       WHERE owner = ? AND ${ACTIVE}`,
    ).pluck(),

    // The backlog `maxQueued` counts, through the queue index of migration 7 (its predicate).
    countQueued: p<[], number>(`SELECT count(*) FROM taskwire_tasks WHERE ${QUEUED}`).pluck(),
    getBucket: p<[string], { tokens: number; updated_at: number }>(
      "SELECT tokens, updated_at FROM taskwire_start_buckets WHERE owner = ?",
    ),
    putBucket: p<[string, number, number]>(
      `INSERT INTO taskwire_start_buckets (owner, tokens, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (owner) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
    ),

    claimQueued: queueList(p, "= ?"),
    claimQueuedIn: queueList(p, IN_JSON),
    claimRetrying: claimList(p, "status = 'retrying' AND lease_expires_at IS NULL AND run_at <= ?", "= ?"),
    claimRetryingIn: claimList(
      p,
      "status = 'retrying' AND lease_expires_at IS NULL AND run_at <= ?",
      IN_JSON,
    ),
    claimWaiting: claimList(p, "status = 'waiting' AND lease_expires_at IS NULL AND run_at <= ?", "= ?"),
    claimWaitingIn: claimList(p, "status = 'waiting' AND lease_expires_at IS NULL AND run_at <= ?", IN_JSON),
    claimExpired: claimList(p, "status = 'running' AND lease_expires_at < ?", "= ?"),
    claimExpiredIn: claimList(p, "status = 'running' AND lease_expires_at < ?", IN_JSON),
    // The revision read with the row is the compare-and-swap; the record is completed in JS (no RETURNING:
    // it costs an ephemeral table per statement).
    claim: p<[string, number, number, number, number]>(
      `UPDATE taskwire_tasks SET status = 'running', revision = revision + 1, claims = claims + 1,
         lease_owner = ?, lease_expires_at = ?, updated_at = ?
       WHERE rowid = ? AND revision = ?`,
    ),
    renew: p<[number, string, number, string], { cancel_requested_at: number | null }>(
      `UPDATE taskwire_tasks SET lease_expires_at = ? WHERE ${FENCE} RETURNING cancel_requested_at`,
    ),
    cancelRequestedAt: p<[string], { cancel_requested_at: number | null }>(
      "SELECT cancel_requested_at FROM taskwire_tasks WHERE id = ?",
    ),

    // The fence rides inside the insert: no row is inserted unless the lease is held, and DO NOTHING turns
    // a duplicate position into `changes = 0` instead of an exception (the caller diagnoses which).
    insertStep: p<InsertStepParams>(
      `INSERT INTO taskwire_steps (task_id, position, key, output, emits, started_at, at, attempts)
       SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM taskwire_tasks WHERE ${FENCE})
       ON CONFLICT (task_id, position) DO NOTHING`,
    ),
    // Compare-and-swap on the emit position: the event is only inserted after this claimed its seq.
    advanceEmit: p<[string, number, string, number]>(
      `UPDATE taskwire_tasks SET emits = emits + 1, last_seq = last_seq + 1 WHERE ${FENCE} AND emits = ?`,
    ),
    insertEvent: p<[string, number, string, string, number]>(
      "INSERT INTO taskwire_events (task_id, seq, name, data, at) VALUES (?, ?, ?, ?, ?)",
    ),
    settle: p<SettleParams>(
      `UPDATE taskwire_tasks SET status = ?, revision = revision + 1, updated_at = ?,
         lease_owner = NULL, lease_expires_at = NULL, result = COALESCE(?, result),
         error = COALESCE(?, error), attempt = attempt + ?, run_at = COALESCE(?, run_at),
         last_seq = last_seq + ?
       WHERE id = ? AND revision = ? AND status = 'running' AND lease_owner = ?`,
    ),
    // Read back after a write in the same transaction; cheaper than RETURNING (an ephemeral table per run).
    lastSeq: p<[string], number>("SELECT last_seq FROM taskwire_tasks WHERE id = ?").pluck(),
    finished: p<[string], FinishedRow>(
      "SELECT name, parent_id, last_seq FROM taskwire_tasks WHERE id = ?",
    ).raw(),
    // News for a task (a `child` event takes `last_seq + ?`, a signal takes none): a `waiting` task is
    // woken (`queued` at now, new revision). Every right-hand side reads the row's old values.
    notify: p<[number, number, number, string]>(
      `UPDATE taskwire_tasks SET last_seq = last_seq + ?, updated_at = ?,
         run_at = CASE WHEN status = 'waiting' THEN ? ELSE run_at END,
         revision = revision + (status = 'waiting'),
         status = CASE WHEN status = 'waiting' THEN 'queued' ELSE status END
       WHERE id = ?`,
    ),
    cancelWaiting: p<[number, number, string, number], TaskRow>(
      `UPDATE taskwire_tasks SET status = 'cancelled', cancel_requested_at = COALESCE(cancel_requested_at, ?),
         revision = revision + 1, updated_at = ?, last_seq = last_seq + 1
       WHERE id = ? AND revision = ? RETURNING ${TASK_COLUMNS}`,
    ),
    cancelRunning: p<[number, number, string, number], TaskRow>(
      `UPDATE taskwire_tasks SET cancel_requested_at = COALESCE(cancel_requested_at, ?), updated_at = ?
       WHERE id = ? AND revision = ? RETURNING ${TASK_COLUMNS}`,
    ),

    loadSteps: p<[string], StepRecord>(
      `SELECT position, key, output, emits, started_at AS startedAt, at, attempts FROM taskwire_steps
       WHERE task_id = ? ORDER BY position`,
    ),
    loadEventNames: p<[string], string>(
      `SELECT name FROM taskwire_events WHERE task_id = ? AND name NOT IN ${NOT_EMITTED} ORDER BY seq`,
    ).pluck(),
    readEvents: p<[string, number, number], { seq: number; name: string; data: string; at: number }>(
      `SELECT seq, name, data, at FROM taskwire_events WHERE task_id = ? AND seq > ? ORDER BY seq ${BOUND_LIMIT}`,
    ),

    dataVersion: p<[], number>("PRAGMA data_version").pluck(),
    pendingCancels: p<[], string>(
      "SELECT id FROM taskwire_tasks WHERE status = 'running' AND cancel_requested_at IS NOT NULL",
    ).pluck(),
  };
}
