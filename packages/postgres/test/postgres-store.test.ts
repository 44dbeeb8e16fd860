import { randomUUID } from "node:crypto";
import { encode, type Lease, type TaskStore } from "@taskwire/core/store";
import { type PostgresStoreOptions, postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { expect, it, onTestFinished, vi } from "vitest";
import { startTcpProxy } from "./tcp-proxy";

const env = await setupPgEnv("store");
const T0 = 1_000_000_000_000;
const LEASE_MS = 30_000;

async function opened(options: Partial<PostgresStoreOptions> = {}): Promise<TaskStore> {
  const store = postgresStore({ connectionString: env.url, schema: env.schema, max: 3, ...options });
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

function newTaskSpec() {
  return {
    id: randomUUID(),
    name: "pg.task",
    input: encode({}),
    owner: "owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
  };
}

async function running(store: TaskStore): Promise<Lease> {
  const res = await store.createTask({
    ...newTaskSpec(),
    claimFor: { workerId: "worker-a", leaseMs: LEASE_MS },
  });
  if (!res.created || !res.lease) throw new Error("no lease");
  return res.lease;
}

/** Backend pids of listener connections LISTENing on `schema`'s channels. */
async function listenerPids(schema: string): Promise<number[]> {
  const rows = await env.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'taskwire-listener' AND query LIKE $1`,
    [`%LISTEN "${schema}_events"%`],
  );
  return rows.map((r) => r.pid);
}

describePg(env, "postgresStore", () => {
  it("rejects a schema name that is not a plain identifier, and missing connection settings", () => {
    for (const schema of ["", "1abc", "a-b", 'x"; DROP', "a".repeat(49)]) {
      expect(() => postgresStore({ connectionString: env.url, schema })).toThrow(/Invalid PostgreSQL schema/);
    }
    expect(() => postgresStore({})).toThrow(/connectionString or a pool/);
  });

  it("open creates the schema, records each migration once, and reopening applies nothing", async () => {
    const schema = env.freshSchema("migrations");
    const first = await opened({ schema });
    await first.close();
    await opened({ schema });
    const versions = await env.query(`SELECT version, name FROM ${schema}.migrations`);
    expect(versions).toEqual([
      { version: 1, name: "initial" },
      { version: 2, name: "owner_active_index" },
      { version: 3, name: "flows" },
      { version: 4, name: "step_timing" },
      { version: 5, name: "retention" },
      { version: 6, name: "priority_fair_claims" },
      { version: 7, name: "start_rate_buckets" },
      { version: 8, name: "debounce_windows" },
    ]);
    const tables = await env.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      "debounce",
      "events",
      "idempotency",
      "migrations",
      "signals",
      "start_buckets",
      "steps",
      "tasks",
    ]);
  });

  it("a current schema opens without the migration lock; a schema ahead of this code is left alone", async () => {
    const schema = env.freshSchema("ahead");
    await (await opened({ schema })).close();
    await env.query(`INSERT INTO ${schema}.migrations (version, name) VALUES (99, 'from the future')`);
    const pool = new pg.Pool({ connectionString: env.url, max: 1 });
    onTestFinished(() => pool.end());
    const holder = await pool.connect();
    onTestFinished(() => holder.release());
    // Hold the schema's migration lock in another session: opening must not need it.
    await holder.query(
      "SELECT pg_advisory_lock(('x' || left(md5('taskwire:' || $1::text), 16))::bit(64)::bigint)",
      [schema],
    );
    const store = await opened({ schema });
    expect((await store.createTask(newTaskSpec())).created).toBe(true);
    const versions = await env.query<{ version: number }>(
      `SELECT version FROM ${schema}.migrations ORDER BY 1`,
    );
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 99]);
  });

  it("with a caller's pool: LISTEN runs on its own connection, and close() ends it but not the pool", async () => {
    const schema = env.freshSchema("ownpool");
    const pool = new pg.Pool({ connectionString: env.url, max: 2 });
    onTestFinished(() => pool.end());
    const store = await opened({ schema, pool, connectionString: undefined });
    expect(await listenerPids(schema)).toHaveLength(1);
    expect(pool.totalCount).toBeLessThanOrEqual(1); // the migration connection, never the listener
    await store.close();
    expect(await listenerPids(schema)).toHaveLength(0);
    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await expect(store.getTask("x")).rejects.toThrow(/closed/);
  });

  it("close() ends the listener and the pool the store created", async () => {
    const schema = env.freshSchema("close");
    const store = await opened({ schema });
    await store.getTask("warm-up");
    expect(await listenerPids(schema)).toHaveLength(1);
    await store.close();
    await vi.waitFor(async () => expect(await listenerPids(schema), "the listener to end").toHaveLength(0), {
      timeout: 2000,
      interval: 5,
    });
  });

  it("the fallback poll rings a watcher for an event that arrived without a NOTIFY", async () => {
    const store = await opened({ pollIntervalMs: 50 });
    const lease = await running(store);
    let rings = 0;
    onTestFinished(store.watchEvents(lease.taskId, () => rings++));
    // A spurious ring is harmless.
    await vi.waitFor(() => expect(rings, "the first-sight ring").toBeGreaterThan(0), {
      timeout: 1000,
      interval: 5,
    });
    const before = rings;
    // An out-of-band write (an operator's repair, say) that sends no notification.
    await env.query(
      `WITH u AS (UPDATE ${env.schema}.tasks SET last_seq = 1 WHERE id = $1 RETURNING id)
       INSERT INTO ${env.schema}.events SELECT id, 1, 'progress', '{}', $2 FROM u`,
      [lease.taskId, T0],
    );
    await vi.waitFor(() => expect(rings, "the poll ring").toBeGreaterThan(before), {
      timeout: 1000,
      interval: 5,
    });
    expect(await store.readEvents(lease.taskId, 0, 10)).toEqual([
      { seq: 1, name: "progress", data: "{}", at: T0 },
    ]);
  });

  it("events, cancels and work missed while the connection was cut are delivered after the listener reconnects", async () => {
    const proxy = await startTcpProxy(env.url);
    onTestFinished(() => proxy.close());
    const a = await opened();
    const b = await opened({ connectionString: proxy.url, pollIntervalMs: 0 });
    const watched = await running(a);
    const cancelled = await running(a);
    const failed = await running(a);
    const error = { code: "BOOM", message: "boom" };
    await a.settleTask(failed, { status: "failed", error, event: encode({ error }) }, T0);
    let rings = 0;
    let work = 0;
    const cancels: string[] = [];
    onTestFinished(b.watchEvents(watched.taskId, () => rings++));
    onTestFinished(b.watchCancels((taskId) => cancels.push(taskId)));
    onTestFinished(b.watchWork(() => work++));

    proxy.cut(); // B's listener (and pool) lose their connections and cannot reconnect yet
    await a.appendEvent(watched, { position: 0, name: "progress", data: encode(1), at: T0 });
    expect((await a.requestCancel(cancelled.taskId, T0 + 1, encode(null))).outcome).toBe("requested");
    await a.retryTask(failed.taskId, T0 + 1); // a wake-up: its work doorbell is lost on the way to B
    await new Promise((resolve) => setTimeout(resolve, 300)); // several failed reconnect attempts
    expect(rings).toBe(0);
    expect(cancels).toEqual([]);
    expect(work).toBe(0);

    proxy.resume();
    await vi.waitFor(
      () => {
        expect(rings, "the after-reconnect ring").toBeGreaterThan(0);
        expect(cancels, "the after-reconnect cancel").toContain(cancelled.taskId);
        expect(work, "the after-reconnect work ring").toBeGreaterThan(0);
      },
      { timeout: 8000, interval: 5 },
    );
    expect(await b.readEvents(watched.taskId, 0, 10)).toHaveLength(1);
  });

  it("while LISTEN is down, the fallback poll rings work watchers (wake-ups elsewhere cannot reach it)", async () => {
    const proxy = await startTcpProxy(env.url);
    onTestFinished(() => proxy.close());
    const b = await opened({ connectionString: proxy.url, pollIntervalMs: 50 });
    let work = 0;
    onTestFinished(b.watchWork(() => work++));
    proxy.cut();
    await vi.waitFor(
      () => expect(work >= 2, "work rings from the poll while the listener is down").toBe(true),
      { timeout: 2000, interval: 5 },
    );
  });

  it("callbacks run in the watcher's async context, never in the writer's", async () => {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    const als = new AsyncLocalStorage<string>();
    const a = await opened();
    const b = await opened({ pollIntervalMs: 0 });
    const lease = await running(a);
    const seen: Array<string | undefined> = [];
    als.run("watcher", () => {
      onTestFinished(b.watchEvents(lease.taskId, () => seen.push(als.getStore())));
      onTestFinished(b.watchCancels(() => seen.push(als.getStore())));
    });
    await als.run("writer", () => a.appendEvent(lease, { position: 0, name: "progress", data: "1", at: T0 }));
    await als.run("writer", () => a.requestCancel(lease.taskId, T0, "null"));
    await vi.waitFor(() => expect(seen.length, "both callbacks").toBeGreaterThanOrEqual(2), {
      timeout: 2000,
      interval: 5,
    });
    expect(seen.every((s) => s === "watcher")).toBe(true);
  });
});
