import { ACTIVE, CHILD, statement, type Tables, TERMINAL } from "./sql-kit";

/**
 * "A task reached a terminal status": the CTEs that follow a data-modifying CTE `finished` (whose
 * RETURNING has the task's `id`, `name`, `status`, `parent_id` and `last_seq`, the latter already counting
 * the terminal event), for every path that gets there (a settlement, the cancel of an unclaimed task), in
 * the same statement, hence the same transaction, as the status change:
 * - `fin_event`: the terminal event, named after the status, at the task's `last_seq`;
 * - `fin_parent`: for a child, the parent's row: `last_seq + 1` for its `child` event (`emits` unchanged)
 *   and, if it is `waiting`, its wake-up (`queued` at `at`, revision + 1). This UPDATE runs whatever the
 *   parent's status, so it always takes the parent's row lock: that is what keeps a parent's `waiting`
 *   settlement from missing this wake-up (see `settleWaiting` in flows.ts);
 * - `fin_child_event`: the parent's `child` event, `{ taskId, task, status }` as `childEventData` encodes
 *   it (the codec writes a flat object of strings as plain `JSON.stringify`, and `to_json(text)` escapes
 *   exactly as it does; a test compares the two).
 * SET expressions all read the parent's row as it was before this update. `woken` is true when the parent
 * is now queued at `at` (true for every parent this woke; rarely, spuriously, for one already queued then).
 */
function finishTask(t: Tables, finished: string, data: string, at: string): string {
  return `
    fin_event AS (
      INSERT INTO ${t.events} (task_id, seq, name, data, at)
      SELECT id, last_seq, status, ${data}, ${at} FROM ${finished} WHERE status IN ${TERMINAL}
    ), fin_parent AS (
      UPDATE ${t.tasks} p SET
        last_seq = p.last_seq + 1,
        updated_at = ${at},
        status = CASE WHEN p.status = 'waiting' THEN 'queued' ELSE p.status END,
        run_at = CASE WHEN p.status = 'waiting' THEN ${at} ELSE p.run_at END,
        revision = p.revision + CASE WHEN p.status = 'waiting' THEN 1 ELSE 0 END
        FROM ${finished} f
       WHERE p.id = f.parent_id AND f.status IN ${TERMINAL}
      RETURNING p.id, p.last_seq, p.status = 'queued' AND p.run_at = ${at} AS woken,
                f.id AS child_id, f.name AS child_name, f.status AS child_status
    ), fin_child_event AS (
      INSERT INTO ${t.events} (task_id, seq, name, data, at)
      SELECT id, last_seq, ${CHILD},
             '{"taskId":' || to_json(child_id)::text || ',"task":' || to_json(child_name)::text
               || ',"status":' || to_json(child_status)::text || '}',
             ${at}
        FROM fin_parent
    )`;
}

/** The parent a finishing statement notified (`parent_id`) and whether it woke it, as output columns. */
const PARENT_COLUMNS = `(SELECT id FROM fin_parent) AS parent_id, coalesce((SELECT woken FROM fin_parent), false) AS woken`;

/** The statements that can end a task (and therefore notify its parent). */
export function buildTerminalStatements(t: Tables) {
  const { tasks } = t;
  return {
    /**
     * $1 id, $2 revision, $3 worker, $4 now, $5 status, $6 result, $7 error, $8 run_at, $9 terminal
     * event data. Fenced; one statement for every settlement (a `waiting` one is only its first half,
     * see `settleWaiting`). Terminal settlements take seq `last_seq + 1` and notify the parent in the same
     * statement (a data-modifying CTE runs whether or not the outer query reads it).
     */
    settleTask: statement(`
      WITH u AS (
        UPDATE ${tasks} SET
          status = $5::text,
          revision = revision + 1,
          updated_at = $4::bigint,
          lease_owner = NULL,
          lease_expires_at = NULL,
          result = CASE WHEN $5::text = 'completed' THEN $6::text ELSE result END,
          error = CASE WHEN $5::text IN ('failed', 'retrying') THEN $7::text ELSE error END,
          attempt = attempt + CASE WHEN $5::text = 'retrying' THEN 1 ELSE 0 END,
          run_at = coalesce($8::bigint, run_at),
          last_seq = last_seq + CASE WHEN $5::text IN ${TERMINAL} THEN 1 ELSE 0 END
         WHERE id = $1 AND revision = $2 AND status = 'running' AND lease_owner = $3
        RETURNING id, name, status, parent_id, last_seq, revision
      ), ${finishTask(t, "u", "$9::text", "$4::bigint")}
      SELECT u.status, u.revision, ${PARENT_COLUMNS} FROM u`),

    /**
     * $1 id, $2 now, $3 event data. `cur` locks the row and yields its state before the update, which
     * decides the outcome (and which doorbells the store rings after the commit). A task that is not
     * running is cancelled at once unless it has active children (their cancellation comes first: it is
     * queued at once for a worker to do it). The children are read from this statement's snapshot: one
     * that settled while `cur` waited for the lock may still look active, which only delays the cancel to
     * that worker (it finds no active child and settles `cancelled`).
     */
    requestCancel: statement(`
      WITH cur AS (
        SELECT * FROM ${tasks} WHERE id = $1 FOR UPDATE
      ), kids AS (
        SELECT EXISTS (SELECT 1 FROM ${tasks} WHERE parent_id = $1 AND status IN ${ACTIVE}) AS active
      ), u AS (
        UPDATE ${tasks} t SET
          cancel_requested_at = coalesce(t.cancel_requested_at, $2::bigint),
          updated_at = $2::bigint,
          status = CASE WHEN cur.status = 'running' THEN 'running'
                        WHEN kids.active THEN 'queued' ELSE 'cancelled' END,
          run_at = CASE WHEN cur.status <> 'running' AND kids.active THEN $2::bigint ELSE t.run_at END,
          revision = t.revision + CASE WHEN cur.status = 'running' THEN 0 ELSE 1 END,
          last_seq = t.last_seq + CASE WHEN cur.status <> 'running' AND NOT kids.active THEN 1 ELSE 0 END
          FROM cur, kids
         WHERE t.id = cur.id AND cur.status NOT IN ${TERMINAL}
        RETURNING t.*
      ), ${finishTask(t, "u", "$3::text", "$2::bigint")}
      SELECT to_json(cur) AS before, to_json(u) AS after, ${PARENT_COLUMNS}
        FROM cur LEFT JOIN u ON true`),
  };
}
