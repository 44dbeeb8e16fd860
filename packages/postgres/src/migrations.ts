import type pg from "pg";
import { quoteIdent } from "./sql-kit";

/** One schema change; `sql` receives the quoted schema name. Applied migrations are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: (schema: string) => string;
}

/**
 * The schema history, oldest first. Times are epoch milliseconds (`bigint`); encoded payloads and the
 * serialized error are `text` the store never parses. `id` uses the "C" collation so `listTasks` orders
 * ids by code point, like every other store.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: (s) => `
      CREATE TABLE ${s}.tasks (
        id text COLLATE "C" PRIMARY KEY,
        ordinal bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL,
        status text NOT NULL
          CHECK (status IN ('queued', 'running', 'retrying', 'completed', 'failed', 'cancelled')),
        revision integer NOT NULL,
        input text NOT NULL,
        result text,
        error text,
        owner text NOT NULL,
        identity text,
        attempt integer NOT NULL,
        claims integer NOT NULL,
        run_at bigint NOT NULL,
        lease_owner text,
        lease_expires_at bigint,
        cancel_requested_at bigint,
        last_seq bigint NOT NULL DEFAULT 0,
        parent_id text COLLATE "C",
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      -- Claims: due tasks in runAt order, and expired leases. Partial, so settled history costs nothing.
      CREATE INDEX tasks_due_idx ON ${s}.tasks (run_at, ordinal) WHERE status IN ('queued', 'retrying');
      CREATE INDEX tasks_lease_idx ON ${s}.tasks (lease_expires_at) WHERE status = 'running';
      -- Listing, newest first, overall and per owner; children of a parent (cancel cascade).
      CREATE INDEX tasks_created_idx ON ${s}.tasks (created_at DESC, id DESC);
      CREATE INDEX tasks_owner_created_idx ON ${s}.tasks (owner, created_at DESC, id DESC);
      CREATE INDEX tasks_parent_idx ON ${s}.tasks (parent_id) WHERE parent_id IS NOT NULL;

      CREATE TABLE ${s}.steps (
        task_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        key text NOT NULL,
        output text NOT NULL,
        emits integer NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (task_id, position)
      );

      CREATE TABLE ${s}.events (
        task_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        name text NOT NULL,
        data text NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (task_id, seq)
      );

      CREATE TABLE ${s}.idempotency (
        owner text NOT NULL,
        task_name text NOT NULL,
        key text NOT NULL,
        task_id text COLLATE "C" NOT NULL,
        input_hash text NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (owner, task_name, key)
      );
      CREATE INDEX idempotency_expires_idx ON ${s}.idempotency (expires_at);
    `,
  },
  {
    version: 2,
    name: "owner_active_index",
    // maxActivePerOwner counts an owner's unfinished tasks: without this it read the owner's whole history.
    sql: (s) => `
      CREATE INDEX tasks_owner_active_idx ON ${s}.tasks (owner) WHERE status IN ('queued', 'running', 'retrying');
    `,
  },
  {
    version: 3,
    name: "flows",
    // Children, waiting, signals. `emits` is backfilled from the WAL: every event a task body emitted
    // (terminal events and `child` bridge events take a seq but no emit position). A `waiting` task is
    // claimable like a queued one once due (`run_at` may be NEVER_DUE = 2^53 - 1: bigint holds it), and
    // counts as active for `maxActivePerOwner`; both partial indexes are rebuilt with it.
    sql: (s) => `
      ALTER TABLE ${s}.tasks ADD COLUMN emits integer NOT NULL DEFAULT 0;
      UPDATE ${s}.tasks t SET emits = e.n
        FROM (SELECT task_id, count(*)::int AS n FROM ${s}.events
               WHERE name NOT IN ('completed', 'failed', 'cancelled', 'child')
               GROUP BY task_id) e
       WHERE t.id = e.task_id;
      ALTER TABLE ${s}.tasks DROP CONSTRAINT tasks_status_check;
      ALTER TABLE ${s}.tasks ADD CONSTRAINT tasks_status_check
        CHECK (status IN ('queued', 'running', 'retrying', 'waiting', 'completed', 'failed', 'cancelled'));
      CREATE INDEX tasks_claimable_idx ON ${s}.tasks (run_at, ordinal)
        WHERE status IN ('queued', 'retrying', 'waiting');
      DROP INDEX ${s}.tasks_due_idx;
      CREATE INDEX tasks_owner_unfinished_idx ON ${s}.tasks (owner)
        WHERE status IN ('queued', 'running', 'retrying', 'waiting');
      DROP INDEX ${s}.tasks_owner_active_idx;

      -- Signals per task and name in arrival order: idx 0, 1, 2 … (assigned under the task's row lock).
      CREATE TABLE ${s}.signals (
        task_id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        idx integer NOT NULL,
        payload text NOT NULL,
        idempotency_key text,
        created_at bigint NOT NULL,
        PRIMARY KEY (task_id, name, idx)
      );
      CREATE UNIQUE INDEX signals_idempotency_idx ON ${s}.signals (task_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: "step_timing",
    // When a step's first attempt began and how many attempts it took (timelines in the CLI and the
    // inspector). Checkpoints written before this version read as instantaneous (`started_at = at`) single
    // attempts. `attempts` with a constant default is a catalog-only change; `started_at` is backfilled.
    sql: (s) => `
      ALTER TABLE ${s}.steps ADD COLUMN attempts integer NOT NULL DEFAULT 1;
      ALTER TABLE ${s}.steps ADD COLUMN started_at bigint;
      UPDATE ${s}.steps SET started_at = at;
      ALTER TABLE ${s}.steps ALTER COLUMN started_at SET NOT NULL;
    `,
  },
  {
    version: 5,
    name: "retention",
    // Retention reads finished root tasks oldest first: a partial index holds exactly those (a task enters
    // it when it settles). Their descendants come through the parent index; steps, events and signals are
    // keyed by task id already, idempotency keys get an index to be deleted with their task.
    sql: (s) => `
      CREATE INDEX tasks_finished_roots_idx ON ${s}.tasks (updated_at)
        WHERE parent_id IS NULL AND status IN ('completed', 'failed', 'cancelled');
      CREATE INDEX idempotency_task_idx ON ${s}.idempotency (task_id);
    `,
  },
  {
    version: 6,
    name: "priority_fair_claims",
    // Claim order among queued tasks: priority desc, then fair turn (`fair_seq`, assigned at insert: one
    // past the owner's highest unfinished turn, never below the lowest queued turn at that priority), then
    // run_at. Queued tasks get their own partial index in that order, read up to the limit with no sort;
    // the claimable index keeps only retrying and waiting tasks (read by run_at), so neither path scans
    // the other's rows. The owner index gains `fair_seq`: the owner's highest turn is one seek.
    sql: (s) => `
      ALTER TABLE ${s}.tasks ADD COLUMN priority smallint NOT NULL DEFAULT 0;
      ALTER TABLE ${s}.tasks ADD COLUMN fair_seq bigint NOT NULL DEFAULT 0;
      CREATE INDEX tasks_queue_idx ON ${s}.tasks (priority DESC, fair_seq, run_at, ordinal)
        WHERE status = 'queued';
      DROP INDEX ${s}.tasks_claimable_idx;
      CREATE INDEX tasks_claimable_idx ON ${s}.tasks (run_at, ordinal) WHERE status IN ('retrying', 'waiting');
      DROP INDEX ${s}.tasks_owner_unfinished_idx;
      CREATE INDEX tasks_owner_unfinished_idx ON ${s}.tasks (owner, fair_seq)
        WHERE status IN ('queued', 'running', 'retrying', 'waiting');
    `,
  },
  {
    version: 7,
    name: "start_rate_buckets",
    // One token bucket per owner for `startRate` (tokens left at `updated_at`, engine-clock ms), upserted
    // inside the create transaction of an admitted start; a refused start rolls back and writes nothing.
    sql: (s) => `
      CREATE TABLE ${s}.start_buckets (
        owner text COLLATE "C" PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_at bigint NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: "debounce_windows",
    // One row per debounce key (owner, task name, key): its current window's task and the cap of that
    // task's run_at (`maxWaitMs`; null without one). A debounced start upserts the row first: its row lock
    // serialises the starts of one key across nodes. Deleted with its task by retention and erasure
    // (no foreign keys here, as elsewhere), through the task index.
    sql: (s) => `
      CREATE TABLE ${s}.debounce (
        owner text NOT NULL,
        task_name text NOT NULL,
        key text NOT NULL,
        task_id text COLLATE "C" NOT NULL,
        max_run_at bigint,
        PRIMARY KEY (owner, task_name, key)
      );
      CREATE INDEX debounce_task_idx ON ${s}.debounce (task_id);
    `,
  },
];

/** What {@link migrate} did. */
export interface MigrationReport {
  /** Versions this call applied (empty when another node already had). */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

/**
 * Brings `schema` up to the latest version in one transaction under an advisory lock derived from the
 * schema name, so nodes starting together apply each migration exactly once and the others wait,
 * then find nothing to do. A database ahead of this code (a newer node migrated first) is left alone.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<MigrationReport> {
  const s = quoteIdent(schema);
  const latest = Math.max(...MIGRATIONS.map((m) => m.version));
  // Fast path for every start after the first: already current, no lock or transaction needed.
  const current = await pool
    .query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.migrations`)
    .then((r) => r.rows[0]?.version ?? 0)
    .catch(() => 0); // no schema or table yet: the locked path below creates them
  if (current >= latest) return { applied: [], version: current };
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    // 64 bits of md5("taskwire:<schema>"): stable across processes and versions, distinct per schema.
    await client.query(
      "SELECT pg_advisory_xact_lock(('x' || left(md5('taskwire:' || $1::text), 16))::bit(64)::bigint)",
      [schema],
    );
    // Only create the schema when missing: CREATE SCHEMA checks the database CREATE privilege even with
    // IF NOT EXISTS, and a role allowed only into a pre-created schema must still be able to open.
    const { rowCount } = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.migrations`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return { applied, version: Math.max(0, ...done, ...applied) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection whose transaction state is unknown is destroyed rather than returned to the pool.
    client.release(broken);
  }
}
