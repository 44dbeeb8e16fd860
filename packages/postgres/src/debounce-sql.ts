import { statement, type Tables } from "./sql-kit";

/** The statements of debounced starts (`NewTask.debounce`). */
export function buildDebounceStatements(t: Tables) {
  const { tasks, debounce } = t;
  return {
    /**
     * $1 owner, $2 task name, $3 key, $4 the new task's id, $5 its max run_at. Opens the key's window for
     * the new task, or locks the key's existing row (a no-op update) and returns it: `opened` says which.
     * A concurrent start of the same key waits on the unique index or the row lock until this transaction
     * ends, so on every node the starts of one key run one at a time.
     */
    lockDebounce: statement(`
      INSERT INTO ${debounce} AS d (owner, task_name, key, task_id, max_run_at)
      VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint)
      ON CONFLICT (owner, task_name, key) DO UPDATE SET task_id = d.task_id
      RETURNING task_id, max_run_at, task_id = $4::text AS opened`),

    /**
     * $1 id, $2 input, $3 identity, $4 run_at, $5 now. Folds a start into the window's task if it is still
     * queued and never claimed (`claims = 0`: a task handed back or woken is queued too, but has started).
     * A claim holding the row makes this wait, then re-check the status: either the claim ran first (no
     * row: the caller opens a new window) or this update did (the claim skips the locked row).
     */
    foldDebounced: statement(`
      UPDATE ${tasks} SET input = $2::text, identity = $3::text, run_at = $4::bigint, revision = revision + 1,
             updated_at = $5::bigint
       WHERE id = $1::text AND status = 'queued' AND claims = 0
      RETURNING *`),

    /** $1 owner, $2 task name, $3 key, $4 the new task's id, $5 its max run_at: a new window (row locked). */
    moveDebounce: statement(`
      UPDATE ${debounce} SET task_id = $4::text, max_run_at = $5::bigint
       WHERE owner = $1::text AND task_name = $2::text AND key = $3::text`),
  };
}
