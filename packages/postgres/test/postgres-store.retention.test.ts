import { randomUUID } from "node:crypto";
import { encode, type NewTask, type TaskStore } from "@taskwire/core/store";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { expect, it, onTestFinished } from "vitest";
import { migrate } from "../src/migrations";
import { buildStatements } from "../src/sql";

const env = await setupPgEnv("retention");
const T0 = 1_000_000_000_000;
const LEASE_MS = 30_000;
const COMPLETED = { status: "completed", result: "1", event: "{}" } as const;

/** A node: its own store (and pool) on `schema`, closed when the test finishes. */
async function node(schema: string): Promise<TaskStore> {
  const store = postgresStore({ connectionString: env.url, schema, max: 3, pollIntervalMs: 0 });
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

function spec(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: randomUUID(),
    name: "retention.task",
    input: encode({}),
    owner: "owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
    claimFor: { workerId: "w", leaseMs: LEASE_MS },
    ...overrides,
  };
}

/** A finished root at `at` with a step and an event; with `child`, a finished child too. Returns its ids. */
async function finishedTree(store: TaskStore, at: number, child: boolean): Promise<string[]> {
  const created = await store.createTask(spec({ now: at, runAt: at }));
  if (!created.created || !created.lease) throw new Error("not created");
  const { lease } = created;
  const ids = [lease.taskId];
  await store.appendStep(lease, {
    position: 0,
    key: "s#0",
    output: "1",
    emits: 0,
    startedAt: at,
    at,
    attempts: 1,
  });
  await store.appendEvent(lease, { position: 0, name: "progress", data: "{}", at });
  if (child) {
    const childId = randomUUID();
    const step = {
      position: 1,
      key: "spawn:c#0",
      output: encode(childId),
      emits: 0,
      startedAt: at,
      at,
      attempts: 1,
    };
    const name = `retention.child.${childId}`;
    await store.spawnChild(lease, {
      step,
      child: { id: childId, name, input: "{}", runAt: at },
      event: "{}",
      now: at,
    });
    const [claimed] = await store.claimTasks({
      workerId: "w",
      names: [name],
      limit: 1,
      now: at,
      leaseMs: LEASE_MS,
    });
    await store.settleTask(claimed!.lease, COMPLETED, at);
    ids.push(childId);
  }
  await store.settleTask(lease, COMPLETED, at);
  return ids;
}

/** Rows of any table of `schema` left for `ids`. */
async function leftovers(schema: string, ids: string[]): Promise<number> {
  let total = 0;
  for (const [table, column] of [
    ["tasks", "id"],
    ["steps", "task_id"],
    ["events", "task_id"],
    ["signals", "task_id"],
    ["idempotency", "task_id"],
  ]) {
    const [row] = await env.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.${table} WHERE ${column} = ANY($1::text[])`,
      [ids],
    );
    total += row?.n ?? 0;
  }
  return total;
}

/** Holds the schema's retention lock in a session of its own until `release()`. */
async function holdRetentionLock(schema: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: env.url });
  await client.connect();
  await client.query("BEGIN");
  await client.query(
    "SELECT pg_advisory_xact_lock(('x' || left(md5('taskwire:retention:' || $1::text), 16))::bit(64)::bigint)",
    [schema],
  );
  const release = async () => {
    await client.query("COMMIT").catch(() => undefined);
    await client.end();
  };
  onTestFinished(release);
  return { release };
}

describePg(env, "postgresStore retention across nodes", () => {
  it("two nodes purging in loops at once delete every task exactly once, without an error", async () => {
    const schema = env.freshSchema("two_nodes");
    const [a, b] = [await node(schema), await node(schema)];
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(...(await finishedTree(a, T0 + i, i % 3 === 0)));
    const sweep = async (store: TaskStore) => {
      let deleted = 0;
      for (let round = 0; round < 500; round++) {
        const n = await store.purgeTasks({ finishedBefore: T0 + 1_000, limit: 3 });
        deleted += n;
        if (n === 0 && (await leftovers(schema, ids)) === 0) return deleted;
      }
      throw new Error("the purge loop did not finish");
    };
    const [byA, byB] = await Promise.all([sweep(a), sweep(b)]);
    expect(byA + byB).toBe(ids.length);
    expect(byA).toBeGreaterThan(0);
    expect(await leftovers(schema, ids)).toBe(0);
  });

  it("while another session holds the retention lock, purge answers 0 at once and deletes nothing", async () => {
    const schema = env.freshSchema("locked");
    const [a, b] = [await node(schema), await node(schema)];
    const ids = await finishedTree(a, T0, true);
    const holder = await holdRetentionLock(schema);
    // If purge waited for the lock this would never resolve: the lock is released only after it.
    expect(await b.purgeTasks({ finishedBefore: T0 + 1_000, limit: 10 })).toBe(0);
    expect(await leftovers(schema, ids)).toBeGreaterThan(0);
    // Erasure takes no retention lock: it is not a sweep and must not be refused.
    expect(await b.deleteTasksOfOwner("nobody", 10)).toBe(0);
    await holder.release();
    expect(await b.purgeTasks({ finishedBefore: T0 + 1_000, limit: 10 })).toBe(2);
    expect(await leftovers(schema, ids)).toBe(0);
  });

  it("a lock on another schema does not stop this schema's purge", async () => {
    const schema = env.freshSchema("unlocked");
    const store = await node(schema);
    const ids = await finishedTree(store, T0, false);
    await holdRetentionLock(env.freshSchema("other"));
    expect(await store.purgeTasks({ finishedBefore: T0 + 1_000, limit: 10 })).toBe(1);
    expect(await leftovers(schema, ids)).toBe(0);
  });

  it("erasing an owner while another node keeps appending its task's events leaves no orphan row", async () => {
    const schema = env.freshSchema("erase_race");
    const [a, b] = [await node(schema), await node(schema)];
    const created = await a.createTask(spec({ owner: "erased" }));
    if (!created.created || !created.lease) throw new Error("not created");
    const { lease } = created;
    const writer = (async () => {
      for (let position = 0; ; position++) {
        try {
          await a.appendEvent(lease, { position, name: "progress", data: "{}", at: T0 + position });
        } catch (error) {
          return error;
        }
      }
    })();
    // Let the writer get going, then erase from the other node.
    await a.appendStep(lease, {
      position: 0,
      key: "s#0",
      output: "1",
      emits: 0,
      startedAt: T0,
      at: T0,
      attempts: 1,
    });
    expect(await b.deleteTasksOfOwner("erased", 10)).toBe(1);
    expect(await writer).toMatchObject({ code: "STORE_CONFLICT" });
    expect(await leftovers(schema, [lease.taskId])).toBe(0);
  });

  it("the purge reads the partial index of finished roots, and erasure the owner index", async () => {
    const schema = env.freshSchema("plan");
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    onTestFinished(() => pool.end());
    await migrate(pool, schema);
    // 20 000 tasks, most of them unfinished or children: a scan would cost far more than the index.
    await env.query(
      `INSERT INTO ${schema}.tasks (id, name, status, revision, input, owner, attempt, claims, run_at,
         last_seq, parent_id, created_at, updated_at)
       SELECT 'id-' || i, 't', CASE WHEN i % 20 = 0 THEN 'completed' ELSE 'running' END, 1, '{}',
         'owner-' || (i % 200), 1, 1, 0, 0, CASE WHEN i % 40 = 0 THEN 'id-1' END, i, i
       FROM generate_series(1, 20000) AS i`,
    );
    await env.query(`ANALYZE ${schema}.tasks`);
    const sql = buildStatements(schema);
    const planOf = async (text: string, values: unknown[]) =>
      (await env.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, values))
        .map((r) => r["QUERY PLAN"])
        .join("\n");
    const purge = await planOf(sql.selectFinishedTrees.text, [10_000, 500]);
    expect(purge).toMatch(/Index Scan using tasks_finished_roots_idx on tasks r/);
    // Descendants by parent-index probes, never a scan of the table or of the whole parent index.
    expect(purge).toMatch(/Nested Loop[\s\S]*Index Scan using tasks_parent_idx on tasks c/);
    expect(purge).not.toMatch(/Seq Scan|Hash Join|Merge Join/);
    const erase = await planOf(sql.lockOwnerTasks.text, ["owner-7", 500]);
    expect(erase).toMatch(/Index Scan (using|on) tasks_owner_created_idx/);
    expect(erase).not.toMatch(/Seq Scan/);
  });
});
