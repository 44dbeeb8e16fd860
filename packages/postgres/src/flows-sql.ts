import { CHILD, fairTurn, statement, type Tables, TERMINAL } from "./sql-kit";

/** The statements of flows: children, waiting, signals, retry. */
export function buildFlowStatements(t: Tables) {
  const { tasks, steps, events, signals } = t;
  return {
    /**
     * $1 id, $2 now, $3 child ids, $4 signal names, $5 signal indexes, $6 wake on a cancel request. The second half of a `waiting`
     * settlement, a statement of its own in the same transaction (see `settleWaiting`): wakes the task if
     * one of the children is terminal or the `idx`-th signal of a name is there (indexes are contiguous
     * from 0, so "more than idx signals" is "signal idx exists").
     */
    wakeIfDue: statement(`
      UPDATE ${tasks} SET status = 'queued', run_at = $2::bigint, revision = revision + 1, updated_at = $2::bigint
       WHERE id = $1 AND status = 'waiting'
         AND (($6::boolean AND cancel_requested_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM ${tasks} c WHERE c.id = ANY($3::text[]) AND c.status IN ${TERMINAL})
           OR EXISTS (SELECT 1 FROM unnest($4::text[], $5::int[]) AS w(name, idx)
                        JOIN ${signals} s ON s.task_id = $1 AND s.name = w.name AND s.idx = w.idx))
      RETURNING revision`),

    /**
     * $1 parent id, $2 revision, $3 worker, $4 position, $5 key, $6 output, $7 emits, $8 step at, $9 child
     * id, $10 child name, $11 child input, $12 child run_at, $13 now, $14 event data, $15 step started at,
     * $16 step attempts. Fenced on the parent,
     * which must have no cancel request; the parent's row lock serialises this with its `child` events
     * and cancel requests. Returns the event's seq; no row when the fence or the cancel check fails, and
     * a unique violation on `steps` (the whole statement undone) when the position is taken.
     */
    spawnChild: statement(`
      WITH f AS (
        UPDATE ${tasks} SET last_seq = last_seq + 1, updated_at = $13::bigint
         WHERE id = $1 AND revision = $2 AND status = 'running' AND lease_owner = $3
           AND cancel_requested_at IS NULL
        RETURNING id, owner, identity, last_seq
      ), s AS (
        INSERT INTO ${steps} (task_id, position, key, output, emits, at, started_at, attempts)
        SELECT f.id, $4::int, $5::text, $6::text, $7::int, $8::bigint, $15::bigint, $16::int FROM f
      ), c AS (
        INSERT INTO ${tasks} (id, name, status, revision, input, owner, identity, attempt, claims, run_at,
            lease_owner, lease_expires_at, last_seq, parent_id, created_at, updated_at, priority, fair_seq)
        SELECT $9::text, $10::text, 'queued', 1, $11::text, f.owner, f.identity, 1, 0, $12::bigint,
            NULL, NULL, 0, f.id, $13::bigint, $13::bigint, $17::smallint,
            ${fairTurn(tasks, "f.owner", "$17::smallint")} FROM f
      )
      INSERT INTO ${events} (task_id, seq, name, data, at)
      SELECT f.id, f.last_seq, ${CHILD}, $14::text, $13::bigint FROM f
      RETURNING seq`),

    /** $1 id, $2 position: whether a checkpoint exists there (explains a failed spawn). */
    stepTaken: statement(`SELECT 1 FROM ${steps} WHERE task_id = $1 AND position = $2::int`),

    /**
     * $1 id, $2 idempotency key (or null), $3 now. The first statement of a delivery: `cur` takes the task's
     * row lock (and reads the row as it is once the lock is held); unless the key was already used or the
     * task is terminal, `u` wakes it if it waits, and otherwise still UPDATEs it (see `deliverSignal`).
     * `duplicate` is the index of the key's first delivery.
     */
    lockForSignal: statement(`
      WITH cur AS (
        SELECT * FROM ${tasks} WHERE id = $1 FOR UPDATE
      ), k AS (
        SELECT idx FROM ${signals} WHERE task_id = $1 AND idempotency_key = $2::text
      ), u AS (
        UPDATE ${tasks} t SET
          updated_at = $3::bigint,
          status = CASE WHEN cur.status = 'waiting' THEN 'queued' ELSE t.status END,
          run_at = CASE WHEN cur.status = 'waiting' THEN $3::bigint ELSE t.run_at END,
          revision = t.revision + CASE WHEN cur.status = 'waiting' THEN 1 ELSE 0 END
          FROM cur
         WHERE t.id = cur.id AND cur.status NOT IN ${TERMINAL} AND NOT EXISTS (SELECT 1 FROM k)
        RETURNING t.*
      )
      SELECT to_json(cur) AS before, to_json(u) AS after, (SELECT idx FROM k) AS duplicate
        FROM cur LEFT JOIN u ON true`),

    /**
     * $1 id, $2 name, $3 payload, $4 idempotency key, $5 now. Run after `lockForSignal`, as a new statement
     * (so it sees every delivery committed by an earlier holder of the lock): the next index of the name.
     */
    insertSignal: statement(`
      INSERT INTO ${signals} (task_id, name, idx, payload, idempotency_key, created_at)
      SELECT $1, $2::text, coalesce(max(idx) + 1, 0), $3::text, $4::text, $5::bigint
        FROM ${signals} WHERE task_id = $1 AND name = $2::text
      RETURNING idx`),

    /** $1 id, $2 idempotency key: the index of the key's delivery. */
    signalByKey: statement(`SELECT idx FROM ${signals} WHERE task_id = $1 AND idempotency_key = $2::text`),

    /** $1 id, $2 name, $3 index. */
    readSignal: statement(
      `SELECT payload FROM ${signals} WHERE task_id = $1 AND name = $2 AND idx = $3::int`,
    ),

    /**
     * $1 id, $2 now. Compare-and-swap on the status: of two racing retries the second waits for the first's
     * row lock, re-checks `status = 'failed'` on the row it committed, and updates nothing.
     */
    retryTask: statement(`
      UPDATE ${tasks} SET status = 'queued', attempt = attempt + 1, run_at = $2::bigint,
             revision = revision + 1, updated_at = $2::bigint
       WHERE id = $1 AND status = 'failed'
      RETURNING *`),

    /** $1 id: its current status (explains a refused retry). */
    taskStatus: statement(`SELECT status FROM ${tasks} WHERE id = $1`),
  };
}
