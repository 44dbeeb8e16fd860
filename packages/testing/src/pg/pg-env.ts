import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";

/** The server PostgreSQL tests talk to: `TASKWIRE_PG_URL`, or a local trust-auth server. */
export const PG_URL = process.env.TASKWIRE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** One test file's PostgreSQL environment. */
export interface PgEnv {
  /** False when the server could not be reached (and `CI` is unset): the file's suites are skipped. */
  readonly available: boolean;
  readonly url: string;
  /** This file's schema: created before the file's tests, dropped (CASCADE) after them. */
  readonly schema: string;
  /** Another unique schema name (not created), dropped together with the file's schema. */
  freshSchema(label?: string): string;
  /** Runs SQL on the helper's own admin connection. */
  query<TRow extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<TRow[]>;
}

/**
 * Probes the server and registers this file's schema lifecycle (`beforeAll` creates it, `afterAll` drops
 * it and every `freshSchema`). An unreachable server throws when `CI` is set (the file fails: PostgreSQL
 * tests must not be skipped there); otherwise it warns loudly and marks the env unavailable, so
 * {@link describePg} skips. Call it with top-level await.
 * @example
 * const env = await setupPgEnv("claims");
 * describePg(env, "claims", () => {
 *   it("…", async () => { const store = postgresStore({ connectionString: env.url, schema: env.schema }); });
 * });
 */
export async function setupPgEnv(label: string): Promise<PgEnv> {
  const reason = await probe();
  if (reason !== undefined) {
    const message = `PostgreSQL is not reachable at ${PG_URL} (${reason})`;
    if (process.env.CI) throw new Error(`${message}; CI is set, so PostgreSQL tests must not be skipped.`);
    process.stderr.write(`\n[taskwire] SKIPPING "${label}" tests: ${message}. Set TASKWIRE_PG_URL.\n\n`);
  }
  const available = reason === undefined;
  const schemas: string[] = [];
  const freshSchema = (l = label) => {
    const name =
      `tw_${l.replace(/[^a-z0-9_]/gi, "_").slice(0, 24)}_${randomBytes(5).toString("hex")}`.toLowerCase();
    schemas.push(name);
    return name;
  };
  const schema = freshSchema();
  const admin = available ? new pg.Pool({ connectionString: PG_URL, max: 2 }) : undefined;
  const query = async <TRow extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    if (!admin) throw new Error("PostgreSQL is not available");
    return (await admin.query<TRow>(text, values)).rows;
  };
  if (admin) {
    beforeAll(async () => {
      await query(`CREATE SCHEMA ${schema}`);
    });
    afterAll(async () => {
      for (const s of schemas) await query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.end();
    });
  }
  return { available, url: PG_URL, schema, freshSchema, query };
}

/** `describe` when PostgreSQL is available, `describe.skip` (named as such) otherwise. */
export function describePg(env: PgEnv, name: string, body: () => void): void {
  if (env.available) describe(name, body);
  else describe.skip(`${name} (PostgreSQL unavailable)`, body);
}

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
