import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { beforeAll, expect, it } from "vitest";
import { listTasksQuery } from "./list-tasks";
import { migrate } from "./migrations";
import { buildStatements } from "./sql";

const env = await setupPgEnv("list_tasks");

/** The plan PostgreSQL picks for `listTasks(filter)` over the populated schema, as text. */
async function planOf(filter: Parameters<typeof listTasksQuery>[1], limit: number): Promise<string> {
  const { text, values } = listTasksQuery(buildStatements(env.schema).listTasks, filter, limit);
  const rows = await env.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, values);
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

describePg(env, "listTasks query plan", () => {
  beforeAll(async () => {
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    try {
      await migrate(pool, env.schema);
    } finally {
      await pool.end();
    }
    // 200 owners × 100 tasks, ten sharing each createdAt: big enough that a scan or a sort would cost more.
    await env.query(
      `INSERT INTO ${env.schema}.tasks (id, name, status, revision, input, owner, attempt, claims, run_at,
         last_seq, created_at, updated_at)
       SELECT 'id-' || lpad(i::text, 6, '0'), 't', 'completed', 1, '{}', 'owner-' || (i % 200), 1, 1, 0,
         0, 1000 + i / 2000, 0
       FROM generate_series(1, 20000) AS i`,
    );
    await env.query(`ANALYZE ${env.schema}.tasks`);
  });

  it("an owner's keyset page seeks the owner index past the cursor and stops at the limit (no sort)", async () => {
    const plan = await planOf({ owner: "owner-7", after: { createdAt: 1009, id: "id-019807" } }, 51);
    expect(plan).toMatch(/Index Scan using tasks_owner_created_idx/);
    expect(plan).toMatch(/Index Cond: \(\(owner = 'owner-7'::text\) AND \(ROW\(created_at, id\) < ROW\(/);
    expect(plan).not.toMatch(/Sort|Seq Scan/);
  });

  it("an owner's first page reads the owner index in order (no sort)", async () => {
    const plan = await planOf({ owner: "owner-7" }, 51);
    expect(plan).toMatch(/Index Scan using tasks_owner_created_idx/);
    expect(plan).not.toMatch(/Sort|Seq Scan/);
  });
});
