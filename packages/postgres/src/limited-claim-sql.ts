import { PAIR_SEPARATOR } from "@taskwire/core/store";
import { statement, tableNames } from "./sql-kit";

/** What a capped claim leaves out besides the claim path's own predicate: $3 owners, $4 pairs, $5 ids. */
const EXCLUDED = `name = ANY($1::text[]) AND NOT owner = ANY($3::text[])
  AND NOT (name || chr(${PAIR_SEPARATOR.charCodeAt(0)}) || owner) = ANY($4::text[]) AND NOT id = ANY($5::text[])`;

/** The statements of a claim under running caps (`ClaimRequest.running`); see limited-claim.ts. */
export function buildLimitedClaimStatements(schema: string) {
  const { tasks } = tableNames(schema);
  const path = (where: string, order: string, reclaimed: boolean) => `
    SELECT id, name, owner, priority, fair_seq, run_at, ordinal, ${reclaimed} AS reclaimed FROM ${tasks}
     WHERE ${where} AND ${EXCLUDED}
     ORDER BY ${order} LIMIT $6 FOR UPDATE SKIP LOCKED`;
  return {
    /**
     * $1 schema. Serialises capped claims (to the end of the transaction), so counting the running
     * tasks and claiming are one step across nodes. 64 bits of md5("taskwire:claims:<schema>"), distinct
     * from the migration, retention and queue locks.
     */
    lockClaims: statement(`
      SELECT pg_advisory_xact_lock(('x' || left(md5('taskwire:claims:' || $1::text), 16))::bit(64)::bigint)`),

    /** $1 now. Tasks under a live lease (an expired one is a claim candidate itself), via the lease index. */
    runningKeys: statement(`
      SELECT name, owner FROM ${tasks} WHERE status = 'running' AND lease_expires_at >= $1::bigint`),

    /**
     * $1 names, $2 now, $3-$5 exclusions, $6 limit. The three claim paths of an uncapped claim, each with
     * the exclusions, merged in claim order; rows are locked (this transaction claims them next).
     */
    candidates: statement(`
      WITH queued AS (${path("status = 'queued' AND run_at <= $2::bigint", "priority DESC, fair_seq, run_at, ordinal", false)}),
           resumed AS (${path("status IN ('retrying', 'waiting') AND run_at <= $2::bigint", "run_at, ordinal", false)}),
           expired AS (${path("status = 'running' AND lease_expires_at < $2::bigint", "run_at, ordinal", true)})
      SELECT id, name, owner, reclaimed FROM (
        SELECT * FROM queued UNION ALL SELECT * FROM resumed UNION ALL SELECT * FROM expired) u
       ORDER BY priority DESC, fair_seq, run_at, ordinal
       LIMIT $6`),

    /** $1 ids, $2 worker, $3 now, $4 lease ms. Claims rows this transaction holds locked. */
    claimIds: statement(`
      UPDATE ${tasks} t
         SET status = 'running', revision = t.revision + 1, claims = t.claims + 1, lease_owner = $2,
             lease_expires_at = $3::bigint + $4::bigint, updated_at = $3::bigint
       WHERE t.id = ANY($1::text[])
      RETURNING t.*`),
  };
}
