import type pg from "pg";
import type { Statement } from "./sql-kit";

/** Runs one named statement on the transaction's connection and resolves to its rows. */
export type Run = <TRow extends object>(statement: Statement, values: unknown[]) => Promise<TRow[]>;

/**
 * Runs `body` in one transaction (READ COMMITTED, PostgreSQL's default) on a connection of `pool`:
 * COMMIT when it resolves, ROLLBACK when it throws (and the error propagates). A connection whose
 * rollback failed is in an unknown state: it is destroyed rather than handed back to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, body: (run: Run) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const run: Run = async (sql, values) =>
    (await client.query({ name: sql.name, text: sql.text, values })).rows;
  try {
    await client.query("BEGIN");
    const result = await body(run);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    broken = await client.query("ROLLBACK").then(
      () => false,
      () => true,
    );
    throw error;
  } finally {
    client.release(broken);
  }
}
