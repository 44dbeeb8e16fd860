import {
  type ClaimedTask,
  type ClaimRequest,
  planLimitedClaim,
  type RunningKey,
  type RunningLimits,
  RunningSlots,
} from "@taskwire/core/store";
import { type TaskRow, toTaskRecord } from "./rows";
import type { StoreDb } from "./store-db";

type Candidate = RunningKey & { id: string; reclaimed: boolean };

/**
 * `claimTasks` under running caps, in one transaction: the claim lock (capped claims of every node take
 * turns, so no two count the same free slot), the running tasks counted, candidates read round by round
 * with what the caps block left out (see core's `planLimitedClaim`), then one UPDATE of the admitted rows.
 * Settles do not take the lock: they only free slots, so a count read under it can only be too high.
 */
export async function claimLimited(
  db: StoreDb,
  schema: string,
  request: ClaimRequest,
  running: RunningLimits,
  limit: number,
): Promise<ClaimedTask[]> {
  const { sql } = db;
  const { workerId, now } = request;
  return db.transaction(async (run) => {
    await run(sql.lockClaims, [schema]);
    const plan = planLimitedClaim<Candidate>(
      new RunningSlots(running, await run<RunningKey>(sql.runningKeys, [now])),
      request.names,
      limit,
    );
    let step = plan.next();
    while (!step.done) {
      const q = step.value;
      step = plan.next(
        await run<Candidate>(sql.candidates, [q.names, now, q.owners, q.pairs, q.ids, q.limit]),
      );
    }
    const admitted = step.value;
    if (admitted.length === 0) return [];
    const rows = await run<TaskRow>(sql.claimIds, [
      admitted.map((c) => c.id),
      workerId,
      now,
      request.leaseMs,
    ]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return admitted.flatMap((c) => {
      const row = byId.get(c.id);
      if (!row) return [];
      const task = toTaskRecord(row);
      return [
        { task, lease: { taskId: task.id, workerId, revision: task.revision }, reclaimed: c.reclaimed },
      ];
    });
  });
}
