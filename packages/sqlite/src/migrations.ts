import type Database from "better-sqlite3";

/** One schema step; `sql` runs inside the migration transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Versioned schema. Append new migrations at the end; never edit one that has shipped.
 * Steps and events are `WITHOUT ROWID` tables clustered on their primary key, so a replay reads one
 * contiguous range. Indexes are kept to what the queries need: every extra index is another page
 * written on each commit.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
      CREATE TABLE taskwire_tasks (
        id                  TEXT PRIMARY KEY,
        name                TEXT NOT NULL,
        status              TEXT NOT NULL,
        revision            INTEGER NOT NULL,
        input               TEXT NOT NULL,
        result              TEXT,
        error               TEXT,
        owner               TEXT NOT NULL,
        identity            TEXT,
        attempt             INTEGER NOT NULL,
        claims              INTEGER NOT NULL,
        run_at              INTEGER NOT NULL,
        lease_owner         TEXT,
        lease_expires_at    INTEGER,
        cancel_requested_at INTEGER,
        last_seq            INTEGER NOT NULL,
        parent_id           TEXT,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
      );
      -- One partial index serves both claim paths: ready tasks by (status, NULL lease, run_at) and expired
      -- leases by (status 'running', lease_expires_at). Terminal tasks leave it, so settling and creating
      -- an already-claimed task touch one claim index page instead of two.
      CREATE INDEX taskwire_tasks_claim ON taskwire_tasks (status, lease_expires_at, run_at)
        WHERE status IN ('queued', 'retrying', 'running');
      CREATE INDEX taskwire_tasks_created ON taskwire_tasks (created_at DESC, id DESC);
      CREATE INDEX taskwire_tasks_owner ON taskwire_tasks (owner, created_at DESC, id DESC);
      CREATE INDEX taskwire_tasks_parent ON taskwire_tasks (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
      CREATE INDEX taskwire_tasks_cancel ON taskwire_tasks (id)
        WHERE status = 'running' AND cancel_requested_at IS NOT NULL;

      CREATE TABLE taskwire_steps (
        task_id  TEXT NOT NULL REFERENCES taskwire_tasks (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        key      TEXT NOT NULL,
        output   TEXT NOT NULL,
        emits    INTEGER NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (task_id, position)
      ) WITHOUT ROWID;

      CREATE TABLE taskwire_events (
        task_id TEXT NOT NULL REFERENCES taskwire_tasks (id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,
        name    TEXT NOT NULL,
        data    TEXT NOT NULL,
        at      INTEGER NOT NULL,
        PRIMARY KEY (task_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE taskwire_idempotency (
        owner      TEXT NOT NULL,
        task_name  TEXT NOT NULL,
        key        TEXT NOT NULL,
        task_id    TEXT NOT NULL REFERENCES taskwire_tasks (id) ON DELETE CASCADE,
        input_hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (owner, task_name, key)
      ) WITHOUT ROWID;
      CREATE INDEX taskwire_idempotency_task ON taskwire_idempotency (task_id);
    `,
  },
  {
    version: 2,
    name: "claim_index_order",
    // Same columns, predicate spelled NOT IN. A query repeats a partial index's predicate verbatim to use
    // it, and a repeated `status IN (…)` term made the planner treat status as multi-valued: every claim
    // sorted all ready tasks in a temp B-tree instead of reading the index in run_at order up to the limit.
    sql: `
      DROP INDEX taskwire_tasks_claim;
      CREATE INDEX taskwire_tasks_claim ON taskwire_tasks (status, lease_expires_at, run_at)
        WHERE status NOT IN ('completed', 'failed', 'cancelled');
    `,
  },
  {
    version: 3,
    name: "owner_active_index",
    // maxActivePerOwner counts an owner's unfinished tasks: without this it read the owner's whole history
    // inside the write transaction. The count repeats this predicate verbatim so the planner uses it.
    sql: `
      CREATE INDEX taskwire_tasks_owner_active ON taskwire_tasks (owner)
        WHERE status NOT IN ('completed', 'failed', 'cancelled');
    `,
  },
  {
    version: 4,
    name: "flows",
    // Flows: `emits` counts a task's own events (`last_seq` also counts terminal and `child` bridge events),
    // backfilled from the WAL so tasks written by version 3 keep replaying at the right emit positions.
    // `waiting` tasks need no index change: the claim index (migration 2) already holds every unfinished
    // status, and claims read `waiting` as one more (status, NULL lease, run_at) range of it.
    // Signals are clustered per (task, name) in arrival order, so a wake check or a read is one seek.
    sql: `
      ALTER TABLE taskwire_tasks ADD COLUMN emits INTEGER NOT NULL DEFAULT 0;
      UPDATE taskwire_tasks SET emits = (
        SELECT count(*) FROM taskwire_events e
        WHERE e.task_id = taskwire_tasks.id AND e.name NOT IN ('completed', 'failed', 'cancelled', 'child')
      );

      CREATE TABLE taskwire_signals (
        task_id         TEXT NOT NULL REFERENCES taskwire_tasks (id) ON DELETE CASCADE,
        name            TEXT NOT NULL,
        idx             INTEGER NOT NULL,
        payload         TEXT NOT NULL,
        idempotency_key TEXT,
        created_at      INTEGER NOT NULL,
        PRIMARY KEY (task_id, name, idx)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX taskwire_signals_key ON taskwire_signals (task_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: "step_timing",
    // When a step's first attempt began and how many attempts it took (timelines in the CLI and the
    // inspector). Checkpoints written before this version have no timing: they read as instantaneous
    // (`started_at = at`) single attempts.
    sql: `
      ALTER TABLE taskwire_steps ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE taskwire_steps ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
      UPDATE taskwire_steps SET started_at = at;
    `,
  },
  {
    version: 6,
    name: "retention",
    // Retention reads finished root tasks oldest first: a partial index holds exactly those (a task enters
    // it when it settles, so running work never pays for it). Their descendants are found through the
    // parent index, and dependent rows go by ON DELETE CASCADE (idempotency keys through their task index).
    sql: `
      CREATE INDEX taskwire_tasks_finished_roots ON taskwire_tasks (updated_at)
        WHERE parent_id IS NULL AND status IN ('completed', 'failed', 'cancelled');
    `,
  },
  {
    version: 7,
    name: "priority_fair_claims",
    // Claim order among queued tasks: priority desc, then fair turn (`fair_seq`, assigned at insert: one past
    // the owner's highest unfinished turn, never below the lowest queued turn at that priority), then run_at.
    // Queued tasks get their own partial index in exactly that order, so a claim reads it up to the limit
    // with no sort; the other claim paths keep the claim index. The owner index gains `fair_seq`, so the
    // owner's highest turn is one seek (and `countActive` still reads it). Existing rows get turn 0.
    sql: `
      ALTER TABLE taskwire_tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE taskwire_tasks ADD COLUMN fair_seq INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX taskwire_tasks_queue ON taskwire_tasks (priority DESC, fair_seq, run_at)
        WHERE status = 'queued' AND lease_expires_at IS NULL;
      DROP INDEX taskwire_tasks_owner_active;
      CREATE INDEX taskwire_tasks_owner_active ON taskwire_tasks (owner, fair_seq)
        WHERE status NOT IN ('completed', 'failed', 'cancelled');
    `,
  },
  {
    version: 8,
    name: "start_rate_buckets",
    // One token bucket per owner for `startRate` (tokens left at `updated_at`, engine-clock ms). Written
    // only by an admitted start, inside its create transaction; a refused start writes nothing.
    sql: `
      CREATE TABLE taskwire_start_buckets (
        owner      TEXT PRIMARY KEY,
        tokens     REAL NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: "debounce_windows",
    // One row per debounce key (owner, task name, key): its current window's task and the cap of that
    // task's `run_at` (`maxWaitMs`, null without one). Deleted with its task (retention, erasure) by
    // ON DELETE CASCADE, through the task index.
    sql: `
      CREATE TABLE taskwire_debounce (
        owner      TEXT NOT NULL,
        task_name  TEXT NOT NULL,
        key        TEXT NOT NULL,
        task_id    TEXT NOT NULL REFERENCES taskwire_tasks (id) ON DELETE CASCADE,
        max_run_at INTEGER,
        PRIMARY KEY (owner, task_name, key)
      ) WITHOUT ROWID;
      CREATE INDEX taskwire_debounce_task ON taskwire_debounce (task_id);
    `,
  },
];

/** The newest schema version this package knows. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Applies the missing migrations and returns the versions it applied. Runs in one `BEGIN IMMEDIATE`
 * transaction: a second process opening the same file waits on the write lock (busy timeout), then sees
 * the versions the first one recorded and applies nothing. Re-running is a no-op.
 */
export function applyMigrations(db: Database.Database, now: number = Date.now()): number[] {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS taskwire_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const versions = db.prepare("SELECT version FROM taskwire_migrations").pluck().all() as number[];
    const applied = new Set(versions);
    const newest = Math.max(0, ...versions);
    if (newest > LATEST_VERSION) {
      throw new Error(
        `The SQLite schema is at version ${newest}, newer than this @taskwire/sqlite knows (${LATEST_VERSION}).`,
      );
    }
    const record = db.prepare("INSERT INTO taskwire_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now);
      done.push(migration.version);
    }
    db.exec("COMMIT");
    return done;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
