import { statement, type Tables, TERMINAL } from "./sql-kit";

/** The statements of retention (`purgeTasks`) and erasure (`deleteTasksOfOwner`). */
export function buildRetentionStatements(t: Tables) {
  const { tasks, steps, events, signals, idempotency, debounce } = t;
  return {
    /**
     * $1 schema. Takes the schema's retention lock for this transaction, or answers false at once when
     * another session holds it (never waits). 64 bits of md5("taskwire:retention:<schema>"): distinct from
     * the migration lock ("taskwire:<schema>") and from every other schema's.
     */
    tryRetentionLock: statement(`
      SELECT pg_try_advisory_xact_lock(('x' || left(md5('taskwire:retention:' || $1::text), 16))::bit(64)::bigint)
        AS locked`),

    /**
     * $1 finished before, $2 limit. Up to $2 finished roots, oldest first, through the partial index of
     * migration 5 (whose predicate the first terms repeat), skipping a root whose tree has an unfinished task
     * (it does not count against the limit) or that another transaction holds; then every descendant of
     * each, as (id, root, revision). Only the roots are locked here (see `lockTasks`). The recursive steps join
     * through a LATERAL subquery that cannot be flattened (`OFFSET 0`): a nested loop of parent-index probes,
     * whatever the planner guesses about the size of a tree (a recursive CTE's guess is ten times its first
     * step, and a hash or merge join on that guess reads the whole parent index for every tree).
     */
    selectFinishedTrees: statement(`
      WITH RECURSIVE roots AS (
        SELECT r.id, r.revision FROM ${tasks} r
         WHERE r.parent_id IS NULL AND r.status IN ${TERMINAL} AND r.updated_at < $1::bigint
           AND NOT EXISTS (
             WITH RECURSIVE d AS (
               SELECT c.id, c.status FROM ${tasks} c WHERE c.parent_id = r.id
               UNION ALL
               SELECT k.id, k.status FROM d CROSS JOIN LATERAL (
                 SELECT c.id, c.status FROM ${tasks} c WHERE c.parent_id = d.id OFFSET 0) k)
             SELECT 1 FROM d WHERE d.status NOT IN ${TERMINAL})
         ORDER BY r.updated_at
         LIMIT $2::bigint
         FOR UPDATE SKIP LOCKED
      ), tree AS (
        SELECT id, id AS root, revision FROM roots
        UNION ALL
        SELECT k.id, tree.root, k.revision FROM tree CROSS JOIN LATERAL (
          SELECT c.id, c.revision FROM ${tasks} c WHERE c.parent_id = tree.id OFFSET 0) k
      )
      SELECT id, root, revision FROM tree`),

    /**
     * $1 ids. Locks the descendants of the roots `selectFinishedTrees` locked and reads their revision as it
     * is now: until the transaction ends no writer can change them (a retry of a failed task, a signal, a
     * cancel), and a tree one of them changed in since that read (a new revision) is kept whole. Every writer
     * that held one of these rows has committed, so the next statement's snapshot sees all it wrote.
     */
    lockTasks: statement(`SELECT id, revision FROM ${tasks} WHERE id = ANY($1::text[]) FOR UPDATE`),

    /**
     * $1 owner, $2 limit. Up to $2 of the owner's tasks, newest first through the owner index (a child, made
     * after its parent, tends to go first), locked: waits for a writer holding one (a statement, never
     * longer), so the next statement sees everything that writer committed.
     */
    /**
     * $1 owner. Erasure's first statement: the owner's debounce windows, before any task row is locked. A
     * debounced start locks its window row, then its task: taking the windows first keeps that order here
     * too, so erasure and a start never deadlock.
     */
    deleteOwnerDebounce: statement(`DELETE FROM ${debounce} WHERE owner = $1::text`),

    lockOwnerTasks: statement(`
      SELECT id FROM ${tasks} WHERE owner = $1 ORDER BY created_at DESC, id DESC LIMIT $2::bigint
      FOR UPDATE`),

    /**
     * $1 ids: tasks the statements above locked. Deletes them with everything that belongs to them (the
     * tables have no foreign keys; each is keyed, or indexed, by task id). Returns the task rows deleted.
     */
    deleteTasks: statement(`
      WITH d_steps AS (
        DELETE FROM ${steps} WHERE task_id = ANY($1::text[])
      ), d_events AS (
        DELETE FROM ${events} WHERE task_id = ANY($1::text[])
      ), d_signals AS (
        DELETE FROM ${signals} WHERE task_id = ANY($1::text[])
      ), d_keys AS (
        DELETE FROM ${idempotency} WHERE task_id = ANY($1::text[])
      ), d_debounce AS (
        DELETE FROM ${debounce} WHERE task_id = ANY($1::text[])
      ), d_tasks AS (
        DELETE FROM ${tasks} WHERE id = ANY($1::text[]) RETURNING id
      )
      SELECT count(*)::int AS deleted FROM d_tasks`),
  };
}
