import { randomBytes } from "node:crypto";
import pg from "pg";

/** A fresh schema on the bench's PostgreSQL and an admin pool on it. */
export interface PgScratch {
  url: string;
  schema: string;
  admin: pg.Pool;
}

/** Creates a fresh `tw_bench_<random>` schema, runs `fn`, then drops the schema and ends the pool. */
export async function withPgSchema<T>(
  url: string,
  pool: number,
  fn: (pg: PgScratch) => Promise<T>,
): Promise<T> {
  const schema = `tw_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: url, max: pool });
  admin.on("error", () => undefined);
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    return await fn({ url, schema, admin });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

/** Server version and the durability settings that decide commit cost. */
export async function pgEnvironment(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'commit_delay', 'wal_sync_method')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}
