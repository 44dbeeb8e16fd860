import type { PurgeRequest } from "@taskwire/core/store";
import type { StoreDb } from "./store-db";
import type { Run } from "./transaction";

interface TreeRow {
  id: string;
  root: string;
  revision: number;
}

/**
 * `TaskStore.purgeTasks` (`limit` already a non-negative integer) in one short transaction: the schema's retention lock (while another node purges,
 * this call answers 0 at once), the finished trees read with their roots locked, their descendants locked,
 * then everything deleted. Never waits for the lock; waits for a row only while a writer's statement holds it.
 */
export async function purgeTasks(db: StoreDb, schema: string, request: PurgeRequest): Promise<number> {
  const { limit } = request;
  if (limit === 0) return 0;
  return db.transaction(async (run) => {
    const [lock] = await run<{ locked: boolean }>(db.sql.tryRetentionLock, [schema]);
    if (!lock?.locked) return 0;
    const trees = await run<TreeRow>(db.sql.selectFinishedTrees, [request.finishedBefore, limit]);
    const descendants = trees.filter((row) => row.id !== row.root);
    // A descendant that changed between the read and its lock (a retried task) keeps its tree whole.
    const spoiled = new Set<string>();
    if (descendants.length > 0) {
      const ids = descendants.map((row) => row.id);
      const now = new Map(
        (await run<{ id: string; revision: number }>(db.sql.lockTasks, [ids])).map((r) => [r.id, r.revision]),
      );
      for (const row of descendants) if (now.get(row.id) !== row.revision) spoiled.add(row.root);
    }
    const doomed = trees.filter((row) => !spoiled.has(row.root)).map((row) => row.id);
    return deleteTasks(db, run, doomed);
  });
}

/**
 * `TaskStore.deleteTasksOfOwner` in one short transaction: the owner's debounce windows deleted, the owner's
 * newest tasks locked, then deleted.
 * A deadlock with a writer (which locks a child, then its parent) is retried: the batch was rolled back.
 */
export async function deleteTasksOfOwner(db: StoreDb, owner: string, limit: number): Promise<number> {
  if (limit === 0) return 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (run) => {
        await run(db.sql.deleteOwnerDebounce, [owner]);
        const locked = await run<{ id: string }>(db.sql.lockOwnerTasks, [owner, limit]);
        await run(db.sql.deleteBucket, [owner]);
        return deleteTasks(
          db,
          run,
          locked.map((row) => row.id),
        );
      });
    } catch (error) {
      if (attempt >= 3 || (error as { code?: unknown }).code !== "40P01") throw error;
    }
  }
}

async function deleteTasks(db: StoreDb, run: Run, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const [row] = await run<{ deleted: number }>(db.sql.deleteTasks, [ids]);
  return row?.deleted ?? 0;
}
