import pg from "pg";
import { MIGRATIONS } from "./migrations";
import type { PostgresStoreOptions } from "./postgres-store-options";
import { assertSchemaName } from "./sql";
import { quoteIdent } from "./sql-kit";

/**
 * The newest schema version this package's migrations create. `open()` tolerates a newer schema (a newer
 * node migrated first during a rolling deploy); a tool that reads rows directly should check it.
 */
export const LATEST_SCHEMA_VERSION: number = Math.max(0, ...MIGRATIONS.map((m) => m.version));

/**
 * Reads `max(version)` of `<schema>.migrations`, creating and changing nothing (for tools that must not
 * create a schema, such as the `taskwire` CLI): `undefined` when the schema or its migrations table does
 * not exist. Uses one short-lived connection (or the given pool).
 * @example
 * const version = await readSchemaVersion({ connectionString: url, schema: "taskwire" });
 */
export async function readSchemaVersion(
  options: Pick<PostgresStoreOptions, "connectionString" | "pool" | "schema">,
): Promise<number | undefined> {
  const schema = options.schema ?? "taskwire";
  assertSchemaName(schema);
  const table = `${quoteIdent(schema)}.migrations`;
  const query = async (run: (text: string, values?: unknown[]) => Promise<pg.QueryResult>) => {
    const { rows } = await run("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
    if (!rows[0]?.present) return undefined;
    const result = await run(`SELECT max(version) AS version FROM ${table}`);
    const version = result.rows[0]?.version;
    return typeof version === "number" ? version : undefined;
  };
  if (options.pool) {
    const pool = options.pool;
    return query((text, values) => pool.query(text, values));
  }
  const client = new pg.Client({
    connectionString: options.connectionString,
    connectionTimeoutMillis: 10_000,
  });
  client.on("error", () => undefined); // a connection lost after the answer must not crash the caller
  try {
    await client.connect();
    return await query((text, values) => client.query(text, values));
  } finally {
    await client.end().catch(() => undefined);
  }
}
