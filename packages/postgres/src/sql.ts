import { buildDebounceStatements } from "./debounce-sql";
import { buildFlowStatements } from "./flows-sql";
import { buildLimitedClaimStatements } from "./limited-claim-sql";
import { buildLimitStatements } from "./limits-sql";
import { buildRetentionStatements } from "./retention-sql";
import { ACTIVE, CHILD, fairTurn, statement, TERMINAL, tableNames } from "./sql-kit";
import { buildTerminalStatements } from "./terminal-sql";

/** Schema names are interpolated into SQL and channel names, so only plain identifiers are accepted. */
const SCHEMA_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** Throws unless `schema` is a plain identifier short enough to derive channel names from (≤ 48 chars). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new TypeError(
      `Invalid PostgreSQL schema name "${schema}": use letters, digits and "_" (at most 48, not starting with a digit).`,
    );
  }
}

/** The doorbells a store rings after a commit; each has its NOTIFY channel. */
export type Doorbell = "events" | "cancels" | "work";

/** The NOTIFY channels of a schema; payloads are comma-joined task ids (see `encodePayloads`). */
export function channelNames(schema: string): Record<Doorbell, string> {
  return { events: `${schema}_events`, cancels: `${schema}_cancels`, work: `${schema}_work` };
}

/** Every fixed statement of the store, qualified with `schema`. */
export function buildStatements(schema: string) {
  const t = tableNames(schema);
  const { tasks, steps, events, idempotency } = t;
  // Shared by both createTask forms: $1 id, $2 name, $3 input, $4 owner, $5 identity, $6 parent_id,
  // $7 run_at, $8 now, $9 status, $10 revision, $11 claims, $12 lease_owner, $13 lease_expires_at,
  // $14 priority ($15–$17 are the idempotent form's key, hash and expiry).
  const insertColumns = `(id, name, status, revision, input, owner, identity, attempt, claims, run_at,
      lease_owner, lease_expires_at, last_seq, parent_id, created_at, updated_at, priority, fair_seq)`;
  const insertValues = `$1::text, $2::text, $9::text, $10::int, $3::text, $4::text, $5::text, 1, $11::int,
      $7::bigint, $12::text, $13::bigint, 0, $6::text, $8::bigint, $8::bigint, $14::smallint,
      ${fairTurn(tasks, "$4::text", "$14::smallint")}`;
  return {
    ...buildTerminalStatements(t),
    ...buildFlowStatements(t),
    ...buildRetentionStatements(t),
    ...buildLimitStatements(schema),
    ...buildLimitedClaimStatements(schema),
    ...buildDebounceStatements(t),

    createTask: statement(`INSERT INTO ${tasks} ${insertColumns} VALUES (${insertValues})
      RETURNING *, true AS created, false AS conflict`),

    /**
     * One round trip for the idempotent start. The upsert takes over only an expired key (it waits for
     * a concurrent holder to commit and re-checks); otherwise the second branch returns the holder.
     * Only the upsert sees rows committed after the statement began; the second branch reads its snapshot,
     * so a key committed by a concurrent start after it began is invisible: the caller then re-reads
     * with {@link readIdempotent}. An expired holder is never returned (`expires_at > now`).
     */
    createIdempotent: statement(`
      WITH idem AS (
        INSERT INTO ${idempotency} AS i (owner, task_name, key, task_id, input_hash, expires_at)
        VALUES ($4, $2, $15, $1, $16, $17)
        ON CONFLICT (owner, task_name, key) DO UPDATE
          SET task_id = excluded.task_id, input_hash = excluded.input_hash, expires_at = excluded.expires_at
          WHERE i.expires_at <= $8::bigint
        RETURNING task_id
      ), ins AS (
        INSERT INTO ${tasks} ${insertColumns} SELECT ${insertValues} FROM idem RETURNING *
      )
      SELECT true AS created, false AS conflict, ins.* FROM ins
      UNION ALL
      SELECT false, i.input_hash <> $16::text, t.*
        FROM ${idempotency} i JOIN ${tasks} t ON t.id = i.task_id
       WHERE i.owner = $4::text AND i.task_name = $2::text AND i.key = $15::text AND i.expires_at > $8::bigint
         AND NOT EXISTS (SELECT 1 FROM idem)`),

    /** $1 owner, $2 task name, $3 key, $4 input hash, $5 now. */
    readIdempotent: statement(`
      SELECT false AS created, i.input_hash <> $4::text AS conflict, t.*
        FROM ${idempotency} i JOIN ${tasks} t ON t.id = i.task_id
       WHERE i.owner = $1 AND i.task_name = $2 AND i.key = $3 AND i.expires_at > $5::bigint`),

    /**
     * $1 schema, $2 owner. Serialises the creates of one owner that carry `maxActivePerOwner` (held to the
     * end of the transaction), so the count below and the insert after it are one atomic step.
     */
    lockOwner: statement(`SELECT pg_advisory_xact_lock(hashtext($1::text), hashtext($2::text))`),

    /** $1 owner. Served by the partial index of migration 3 (whose predicate is exactly this set). */
    countActive: statement(`
      SELECT count(*)::int AS active FROM ${tasks} WHERE owner = $1::text AND status IN ${ACTIVE}`),

    getTask: statement(`SELECT * FROM ${tasks} WHERE id = $1`),

    /**
     * $1 names, $2 worker, $3 now, $4 lease ms, $5 limit. Claimable rows are locked, never waited on; a
     * `waiting` task is claimable once due, like a queued one (`tasks_claimable_idx` serves both).
     */
    claimTasks: statement(`
      WITH queued AS (
        SELECT id, priority, fair_seq, run_at, ordinal, false AS reclaimed FROM ${tasks}
         WHERE status = 'queued' AND run_at <= $3::bigint AND name = ANY($1::text[])
         ORDER BY priority DESC, fair_seq, run_at, ordinal
         LIMIT $5
         FOR UPDATE SKIP LOCKED
      ), resumed AS (
        SELECT id, priority, fair_seq, run_at, ordinal, false AS reclaimed FROM ${tasks}
         WHERE status IN ('retrying', 'waiting') AND run_at <= $3::bigint AND name = ANY($1::text[])
         ORDER BY run_at, ordinal
         LIMIT $5
         FOR UPDATE SKIP LOCKED
      ), expired AS (
        SELECT id, priority, fair_seq, run_at, ordinal, true AS reclaimed FROM ${tasks}
         WHERE status = 'running' AND lease_expires_at < $3::bigint AND name = ANY($1::text[])
         ORDER BY run_at, ordinal
         LIMIT $5
         FOR UPDATE SKIP LOCKED
      ), c AS (
        SELECT id, reclaimed FROM (SELECT * FROM queued UNION ALL SELECT * FROM resumed UNION ALL SELECT * FROM expired) u
         ORDER BY priority DESC, fair_seq, run_at, ordinal
         LIMIT $5
      )
      UPDATE ${tasks} t
         SET status = 'running', revision = t.revision + 1, claims = t.claims + 1, lease_owner = $2,
             lease_expires_at = $3::bigint + $4::bigint, updated_at = $3::bigint
        FROM c
       WHERE t.id = c.id
      RETURNING t.*, c.reclaimed`),

    /** $1 id, $2 revision, $3 worker, $4 now, $5 lease ms. */
    renewLease: statement(`
      WITH u AS (
        UPDATE ${tasks} SET lease_expires_at = $4::bigint + $5::bigint
         WHERE id = $1 AND revision = $2 AND status = 'running' AND lease_owner = $3
        RETURNING cancel_requested_at
      )
      SELECT true AS held, cancel_requested_at IS NOT NULL AS cancel_requested FROM u
      UNION ALL
      SELECT false, cancel_requested_at IS NOT NULL FROM ${tasks}
       WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM u)`),

    /**
     * Steps and emitted event names from one snapshot. Terminal and `child` events are left out by name:
     * task event names can never be one of those (reserved at definition time).
     */
    loadHistory: statement(`
      SELECT
        (SELECT coalesce(json_agg(json_build_object('position', position, 'key', key, 'output', output,
                  'emits', emits, 'startedAt', started_at, 'at', at, 'attempts', attempts)
                  ORDER BY position), '[]'::json)
           FROM ${steps} WHERE task_id = $1) AS steps,
        (SELECT coalesce(json_agg(name ORDER BY seq), '[]'::json)
           FROM ${events}
          WHERE task_id = $1 AND name NOT IN ${TERMINAL} AND name <> ${CHILD}) AS event_names`),

    /**
     * $1 id, $2 revision, $3 worker, $4 position, $5 key, $6 output, $7 emits, $8 at, $9 started at,
     * $10 attempts. `FOR SHARE`
     * conflicts with a reclaim's row lock, so the fence check and the insert see the same lease: a
     * reclaim either commits first (the re-checked revision no longer matches) or skips the locked row.
     * A plain INSERT (no ON CONFLICT: the speculative insertion costs on every step) inserts 1 row, 0
     * when the fence fails, or raises a unique violation when the position is already recorded.
     */
    appendStep: statement(`
      WITH f AS (
        SELECT id FROM ${tasks}
         WHERE id = $1 AND revision = $2 AND status = 'running' AND lease_owner = $3
        FOR SHARE
      )
      INSERT INTO ${steps} (task_id, position, key, output, emits, at, started_at, attempts)
      SELECT f.id, $4::int, $5::text, $6::text, $7::int, $8::bigint, $9::bigint, $10::int FROM f`),

    /**
     * Arrays of $1 task id, $2 revision, $3 worker, $4 position, $5 key, $6 output, $7 emits, $8 at,
     * $9 started at, $10 attempts: many checkpoints in one statement, each row fenced by its own lease on
     * its task (share lock, as `appendStep`; a row is matched by its ordinality, never by task id alone, so a
     * stale lease beside a valid one of the same task writes nothing); a position already taken writes
     * nothing. Returns the rows written.
     */
    appendSteps: statement(`
      WITH v AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[],
                             $7::int[], $8::bigint[], $9::bigint[], $10::int[]) WITH ORDINALITY
          AS v(task_id, revision, worker, position, key, output, emits, at, started_at, attempts, n)
      ), f AS (
        SELECT v.n FROM ${tasks} t JOIN v ON t.id = v.task_id
         WHERE t.revision = v.revision AND t.status = 'running' AND t.lease_owner = v.worker
        ORDER BY t.id
        FOR SHARE OF t
      )
      INSERT INTO ${steps} (task_id, position, key, output, emits, at, started_at, attempts)
      SELECT v.task_id, v.position, v.key, v.output, v.emits, v.at, v.started_at, v.attempts
        FROM v WHERE v.n IN (SELECT n FROM f)
      ON CONFLICT (task_id, position) DO NOTHING
      RETURNING task_id, position`),

    /**
     * $1 id, $2 revision, $3 worker, $4 emit position, $5 name, $6 data, $7 at. The fenced compare-and-swap
     * on `emits` serialises writers on the task row (a concurrent `child` event from a settling child
     * takes the same row lock, so the seq is always the row's next); returns the seq, or no row when the
     * fence or the position check fails. No NOTIFY here: the store rings after the commit (see `Notifier`).
     */
    appendEvent: statement(`
      WITH u AS (
        UPDATE ${tasks} SET last_seq = last_seq + 1, emits = emits + 1
         WHERE id = $1 AND revision = $2 AND status = 'running' AND lease_owner = $3 AND emits = $4::int
        RETURNING id, last_seq
      )
      INSERT INTO ${events} (task_id, seq, name, data, at)
      SELECT u.id, u.last_seq, $5::text, $6::text, $7::bigint FROM u
      RETURNING seq`),

    /** $1 id, $2 after seq, $3 limit. */
    readEvents: statement(`
      SELECT seq, name, data, at FROM ${events}
       WHERE task_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::bigint`),

    /** The state a failed fenced write is explained from (only read on the failure path). */
    fenceState: statement(`
      SELECT status, revision, lease_owner, last_seq, emits, cancel_requested_at FROM ${tasks} WHERE id = $1`),

    /** The fallback poll: current `last_seq` of watched tasks. */
    pollSeqs: statement(`SELECT id, last_seq FROM ${tasks} WHERE id = ANY($1::text[])`),

    /** Running tasks with a pending cancel, re-announced after the listener reconnects. */
    pendingCancels: statement(`
      SELECT id FROM ${tasks}
       WHERE status = 'running' AND cancel_requested_at IS NOT NULL
       ORDER BY cancel_requested_at LIMIT 1000`),

    /**
     * $1 channels, $2 payloads: the coalesced doorbells of already-committed writes, in one short
     * transaction that writes nothing else (so it holds PostgreSQL's notify commit lock only briefly).
     */
    notify: statement(`SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)`),

    /** Base of `listTasks`; filters are appended by the store. */
    listTasks: `SELECT * FROM ${tasks}`,
  };
}

/** The statements of one schema. */
export type Statements = ReturnType<typeof buildStatements>;
