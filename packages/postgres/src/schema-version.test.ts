import { LATEST_SCHEMA_VERSION, postgresStore, readSchemaVersion } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { expect, it } from "vitest";

const env = await setupPgEnv("schema_version");

describePg(env, "readSchemaVersion", () => {
  it("reads max(version) of a migrated schema and answers undefined for a missing one, creating nothing", async () => {
    const missing = env.freshSchema("missing");
    expect(await readSchemaVersion({ connectionString: env.url, schema: missing })).toBeUndefined();
    expect(await env.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [missing])).toEqual([]);
    // The file's schema exists but holds no tables yet.
    expect(await readSchemaVersion({ connectionString: env.url, schema: env.schema })).toBeUndefined();

    const store = postgresStore({ connectionString: env.url, schema: env.schema });
    await store.open();
    await store.close();
    expect(await readSchemaVersion({ connectionString: env.url, schema: env.schema })).toBe(
      LATEST_SCHEMA_VERSION,
    );
    await env.query(`INSERT INTO ${env.schema}.migrations (version, name) VALUES (999, 'future')`);
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    try {
      expect(await readSchemaVersion({ pool, schema: env.schema })).toBe(999);
    } finally {
      await pool.end();
    }
    await expect(readSchemaVersion({ connectionString: env.url, schema: "bad-name" })).rejects.toThrow(
      "Invalid PostgreSQL schema name",
    );
  });
});
