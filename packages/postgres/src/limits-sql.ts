import { quoteIdent, statement, tableNames } from "./sql-kit";

/** The statements of the start limits (`startRate`, `maxQueued`) of `createTask`. */
export function buildLimitStatements(schema: string) {
  const { tasks } = tableNames(schema);
  const buckets = `${quoteIdent(schema)}.start_buckets`;
  return {
    /**
     * $1 owner, $2 per second, $3 burst, $4 now. Takes one token from the owner's bucket in one statement
     * (the row lock serialises the takes of one owner across nodes until the create commits): the refill
     * since `updated_at` (none when `now` is behind it), capped at the burst, minus one. A negative
     * `tokens` means refused: the caller rolls the transaction back, so a refusal writes nothing. The same
     * formula as core's `takeStartToken`.
     */
    takeToken: statement(`
      INSERT INTO ${buckets} AS b (owner, tokens, updated_at) VALUES ($1::text, $3::float8 - 1, $4::bigint)
      ON CONFLICT (owner) DO UPDATE SET
        tokens = least($3::float8, b.tokens + greatest(0, $4::bigint - b.updated_at) * $2::float8 / 1000) - 1,
        updated_at = greatest(b.updated_at, $4::bigint)
      RETURNING tokens`),

    /**
     * $1 schema. Serialises the creates that carry `maxQueued` (to the end of the transaction), so the
     * count and the insert are one step. 64 bits of md5("taskwire:queued:<schema>"): distinct from the
     * migration and retention locks, and (one bigint key, not two int keys) from every owner lock.
     */
    lockQueued: statement(`
      SELECT pg_advisory_xact_lock(('x' || left(md5('taskwire:queued:' || $1::text), 16))::bit(64)::bigint)`),

    /** $1 owner. Erasure: the owner's bucket goes with their tasks. */
    deleteBucket: statement(`DELETE FROM ${buckets} WHERE owner = $1::text`),

    /** Through the queue index of migration 6 (whose predicate is exactly this). */
    countQueued: statement(`SELECT count(*)::int AS queued FROM ${tasks} WHERE status = 'queued'`),
  };
}
