import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { expect, it, onTestFinished } from "vitest";
import { MIGRATIONS, migrate } from "./migrations";

/** The versions a schema at `version` still needs, and the latest one (so a new migration edits no test). */
const after = (version: number) => MIGRATIONS.map((m) => m.version).filter((v) => v > version);
const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

const env = await setupPgEnv("migrations");

/** A schema at `version`, as an older release left it (the history applied by hand, then recorded). */
async function schemaAt(version: number): Promise<string> {
  const schema = env.freshSchema("upgrade");
  await env.query(`CREATE SCHEMA ${schema}`);
  await env.query(
    `CREATE TABLE ${schema}.migrations (version integer PRIMARY KEY, name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) {
    await env.query(migration.sql(schema));
    await env.query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
  }
  return schema;
}

async function insertTask(schema: string, id: string, status: string, events: string[]): Promise<void> {
  await env.query(
    `INSERT INTO ${schema}.tasks (id, name, status, revision, input, owner, attempt, claims, run_at,
       last_seq, created_at, updated_at)
     VALUES ($1, 't', $2, 1, '{}', 'o', 1, 1, 0, $3, 0, 0)`,
    [id, status, events.length],
  );
  for (const [i, name] of events.entries()) {
    await env.query(`INSERT INTO ${schema}.events VALUES ($1, $2, $3, '{}', 0)`, [id, i + 1, name]);
  }
}

describePg(env, "migration 3 (flows)", () => {
  it("backfills emits from the WAL (terminal and child events excluded) and admits the waiting status", async () => {
    const schema = await schemaAt(2);
    await insertTask(schema, "a", "failed", ["progress", "child", "progress", "failed", "progress"]);
    await insertTask(schema, "b", "completed", ["child", "completed"]);
    await insertTask(schema, "c", "queued", []);
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    onTestFinished(() => pool.end());
    expect(await migrate(pool, schema)).toEqual({ applied: after(2), version: LATEST });
    const rows = await env.query(`SELECT id, emits FROM ${schema}.tasks ORDER BY id`);
    expect(rows).toEqual([
      { id: "a", emits: 3 },
      { id: "b", emits: 0 },
      { id: "c", emits: 0 },
    ]);
    await env.query(`UPDATE ${schema}.tasks SET status = 'waiting', run_at = $1 WHERE id = 'c'`, [
      Number.MAX_SAFE_INTEGER,
    ]);
    const [waiting] = await env.query(`SELECT run_at FROM ${schema}.tasks WHERE id = 'c'`);
    expect(Number(waiting?.run_at)).toBe(Number.MAX_SAFE_INTEGER);
    await expect(env.query(`UPDATE ${schema}.tasks SET status = 'bogus' WHERE id = 'c'`)).rejects.toThrow(
      /tasks_status_check/,
    );
    // Migrating again finds nothing to do.
    expect(await migrate(pool, schema)).toEqual({ applied: [], version: LATEST });
  });

  it("the claim query and the active count of an owner are served by partial indexes that include waiting", async () => {
    const schema = await schemaAt(3);
    const indexes = await env.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'tasks'
        AND indexdef LIKE '%WHERE%' ORDER BY indexname`,
      [schema],
    );
    const byName = Object.fromEntries(indexes.map((i) => [i.indexname, i.indexdef]));
    expect(Object.keys(byName)).toEqual([
      "tasks_claimable_idx",
      "tasks_lease_idx",
      "tasks_owner_unfinished_idx",
      "tasks_parent_idx",
    ]);
    expect(byName.tasks_claimable_idx).toMatch(/queued.*retrying.*waiting/);
    expect(byName.tasks_owner_unfinished_idx).toMatch(/queued.*running.*retrying.*waiting/);
  });
});

describePg(env, "migration 4 (step timing)", () => {
  it("gives checkpoints written by version 3 started_at = at and one attempt", async () => {
    const schema = await schemaAt(3);
    await insertTask(schema, "old", "running", []);
    await env.query(`INSERT INTO ${schema}.steps VALUES ('old', 0, 'a#0', '1', 0, 500)`);
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    onTestFinished(() => pool.end());
    expect((await migrate(pool, schema)).applied).toEqual(after(3));
    const rows = await env.query(`SELECT started_at, at, attempts FROM ${schema}.steps`);
    expect(rows).toEqual([{ started_at: "500", at: "500", attempts: 1 }]);
    const columns = await env.query(
      `SELECT column_name, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'steps' AND column_name IN ('started_at', 'attempts')
        ORDER BY column_name`,
      [schema],
    );
    expect(columns).toEqual([
      { column_name: "attempts", is_nullable: "NO" },
      { column_name: "started_at", is_nullable: "NO" },
    ]);
  });
});
