import type { PurgeRequest } from "@taskwire/core/store";
import { ACTIVE, BOUND_LIMIT, type Prepare, type Stmt, TERMINAL } from "./sql";
import type { WriteOp } from "./write-queue";

/** The prepared statements of retention and erasure; part of `Statements`. */
export interface RetentionStatements {
  purgeTrees: Stmt<[finishedBefore: number, limit: number]>;
  deleteOwnerTasks: Stmt<[owner: string, limit: number]>;
  deleteOwnerBucket: Stmt<[owner: string]>;
}

/**
 * Prepares {@link RetentionStatements}. Both delete only `taskwire_tasks` rows: checkpoints, events,
 * signals and idempotency keys go with them by `ON DELETE CASCADE` (every connection enables foreign keys),
 * and `changes` counts the task rows alone.
 */
export function prepareRetentionStatements(p: Prepare): RetentionStatements {
  return {
    // Roots come from the partial index of finished roots (migration 6), whose predicate the first terms
    // repeat verbatim, oldest first; a root with an unfinished descendant (found through the partial parent
    // index) is passed over without counting against the limit. Then every descendant of the chosen roots.
    purgeTrees: p<[number, number]>(
      `WITH RECURSIVE
         roots(id) AS (
           SELECT r.id FROM taskwire_tasks r
            WHERE r.parent_id IS NULL AND r.status IN ${TERMINAL} AND r.updated_at < ?
              AND NOT EXISTS (
                WITH RECURSIVE d(id, status) AS (
                  SELECT c.id, c.status FROM taskwire_tasks c WHERE c.parent_id = r.id
                  UNION ALL
                  SELECT c.id, c.status FROM taskwire_tasks c JOIN d ON c.parent_id = d.id)
                SELECT 1 FROM d WHERE d.${ACTIVE})
            ORDER BY r.updated_at ${BOUND_LIMIT}),
         tree(id) AS (
           SELECT id FROM roots
           UNION ALL
           SELECT c.id FROM taskwire_tasks c JOIN tree ON c.parent_id = tree.id)
       DELETE FROM taskwire_tasks WHERE id IN (SELECT id FROM tree)`,
    ),
    // Newest first through the owner index: a child is created after its parent, so it tends to go first.
    deleteOwnerTasks: p<[string, number]>(
      `DELETE FROM taskwire_tasks WHERE id IN (
         SELECT id FROM taskwire_tasks WHERE owner = ? ORDER BY created_at DESC, id DESC ${BOUND_LIMIT})`,
    ),
    deleteOwnerBucket: p<[string]>("DELETE FROM taskwire_start_buckets WHERE owner = ?"),
  };
}

/** `TaskStore.purgeTasks`: one statement, inside the batch's `BEGIN IMMEDIATE` like any other write. */
export function purgeTasksOp(s: RetentionStatements, request: PurgeRequest): WriteOp<number> {
  return () => s.purgeTrees.run(request.finishedBefore, rowLimit(request.limit)).changes;
}

/** `TaskStore.deleteTasksOfOwner`: one statement in the write path, plus the owner's start-rate bucket. */
export function deleteTasksOfOwnerOp(s: RetentionStatements, owner: string, limit: number): WriteOp<number> {
  return () => {
    const deleted = s.deleteOwnerTasks.run(owner, rowLimit(limit)).changes;
    s.deleteOwnerBucket.run(owner);
    return deleted;
  };
}

function rowLimit(limit: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(limit) || 0));
}
