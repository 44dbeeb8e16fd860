import {
  type ClaimRequest,
  PAIR_SEPARATOR,
  planLimitedClaim,
  type RunningKey,
  type RunningLimits,
  RunningSlots,
} from "@taskwire/core/store";
import { TASK_COLUMNS } from "./rows";
import { ACTIVE, BOUND_LIMIT, IN_JSON, type Prepare, type Stmt } from "./sql";
import { byClaimOrder, CLAIM_ROW, type ClaimRow } from "./statements";

/** Claim candidates of one kind under running caps: `(bound, names, owners, pairs, ids, limit)`, JSON arrays. */
type LimitedList = Stmt<[number, string, string, string, string, number], ClaimRow>;

/** The prepared statements of a claim under running caps; part of `Statements`. */
export interface LimitedClaimStatements {
  runningKeys: Stmt<[now: number], RunningKey>;
  limitedQueued: LimitedList;
  limitedRetrying: LimitedList;
  limitedWaiting: LimitedList;
  limitedExpired: LimitedList;
}

/** What a capped claim leaves out besides the claim path's own predicate (see `CandidateQuery`). */
const EXCLUDED = `name ${IN_JSON} AND owner NOT ${IN_JSON} AND (name || char(${PAIR_SEPARATOR.charCodeAt(0)}) || owner) NOT ${IN_JSON}
  AND id NOT ${IN_JSON}`;

/** Prepares {@link LimitedClaimStatements}: the four claim paths of `claimTasksOp` plus the caps' exclusions. */
export function prepareLimitedClaimStatements(p: Prepare): LimitedClaimStatements {
  const list = (where: string, index = "") =>
    p<[number, string, string, string, string, number], ClaimRow>(
      `SELECT ${TASK_COLUMNS}, rowid, fair_seq FROM taskwire_tasks ${index}
       WHERE ${where} AND ${EXCLUDED}
       ORDER BY ${index ? "priority DESC, fair_seq, run_at, rowid" : "run_at, rowid"} ${BOUND_LIMIT}`,
    ).raw();
  return {
    // Live leases only (an expired one is a claim candidate itself), through the claim index: its predicate first.
    runningKeys: p<[number], RunningKey>(
      `SELECT name, owner FROM taskwire_tasks WHERE ${ACTIVE} AND status = 'running' AND lease_expires_at >= ?`,
    ),
    limitedQueued: list(
      "status = 'queued' AND lease_expires_at IS NULL AND run_at <= ?",
      "INDEXED BY taskwire_tasks_queue",
    ),
    limitedRetrying: list(`${ACTIVE} AND status = 'retrying' AND lease_expires_at IS NULL AND run_at <= ?`),
    limitedWaiting: list(`${ACTIVE} AND status = 'waiting' AND lease_expires_at IS NULL AND run_at <= ?`),
    limitedExpired: list(`${ACTIVE} AND status = 'running' AND lease_expires_at < ?`),
  };
}

/**
 * The rows a claim under `running` caps takes, in claim order: the running tasks are counted, then
 * candidates are read (the four paths merged as an uncapped claim merges them) round by round with what
 * the caps block left out. Runs inside the claim's write transaction, so the counts cannot go stale.
 */
export function limitedClaimRows(
  s: LimitedClaimStatements,
  request: ClaimRequest,
  running: RunningLimits,
): ClaimRow[] {
  type Candidate = RunningKey & { id: string; row: ClaimRow };
  const plan = planLimitedClaim<Candidate>(
    new RunningSlots(running, s.runningKeys.all(request.now)),
    request.names,
    request.limit,
  );
  let step = plan.next();
  while (!step.done) {
    const q = step.value;
    const params = [
      request.now,
      JSON.stringify(q.names),
      JSON.stringify(q.owners),
      JSON.stringify(q.pairs),
      JSON.stringify(q.ids),
      q.limit,
    ] as const;
    let rows: ClaimRow[] = [];
    for (const list of [s.limitedQueued, s.limitedRetrying, s.limitedWaiting, s.limitedExpired]) {
      const more = list.all(...params);
      if (more.length > 0) rows = rows.length === 0 ? more : rows.concat(more).sort(byClaimOrder);
    }
    if (rows.length > q.limit) rows.length = q.limit;
    step = plan.next(
      rows.map((row) => ({
        id: row[CLAIM_ROW.id],
        name: row[CLAIM_ROW.name],
        owner: row[CLAIM_ROW.owner],
        row,
      })),
    );
  }
  return step.value.map((c) => c.row);
}
