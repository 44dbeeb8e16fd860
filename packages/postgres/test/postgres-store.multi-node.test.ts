import { randomUUID } from "node:crypto";
import { ErrorCode, isTaskwireError } from "@taskwire/core";
import { encode, type Lease, type TaskStore } from "@taskwire/core/store";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { expect, it, onTestFinished, vi } from "vitest";

const env = await setupPgEnv("multinode");
const T0 = 1_000_000_000_000;
const LEASE_MS = 30_000;

/** An opened store on this file's schema (or `schema`), closed when the test finishes. */
async function node(options: { schema?: string; pollIntervalMs?: number } = {}): Promise<TaskStore> {
  const store = postgresStore({ connectionString: env.url, schema: env.schema, max: 4, ...options });
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

function newTask(name: string, overrides: { claimFor?: { workerId: string; leaseMs: number } } = {}) {
  return {
    id: randomUUID(),
    name,
    input: encode({ n: 1 }),
    owner: "owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
    ...overrides,
  };
}

async function running(store: TaskStore, name: string, workerId = "worker-a"): Promise<Lease> {
  const res = await store.createTask(newTask(name, { claimFor: { workerId, leaseMs: LEASE_MS } }));
  if (!res.created || !res.lease) throw new Error("no lease");
  return res.lease;
}

async function conflict(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (error) {
    return isTaskwireError(error, ErrorCode.STORE_CONFLICT);
  }
}

/** The n-th emitted event (n = 1, 2 …): emit position n - 1; it lands at seq n when nothing else is in the WAL. */
const event = (n: number) => ({ position: n - 1, name: "progress", data: encode({ seq: n }), at: T0 + n });
/** What `readEvents` returns for {@link event}(n) at seq n. */
const record = (n: number) => ({ seq: n, name: "progress", data: encode({ seq: n }), at: T0 + n });

describePg(env, "postgresStore across nodes", () => {
  it("five stores opening a fresh schema at once all succeed and apply each migration once", async () => {
    const schema = env.freshSchema("migrate");
    const stores = Array.from({ length: 5 }, () =>
      postgresStore({ connectionString: env.url, schema, max: 2, pollIntervalMs: 0 }),
    );
    for (const store of stores) onTestFinished(() => store.close());
    await Promise.all(stores.map((store) => store.open()));
    const rows = await env.query<{ version: number }>(
      `SELECT version FROM ${schema}.migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const created = await stores[3]!.createTask(newTask("m.task"));
    if (!created.created) throw new Error("the task was not created");
    expect(await stores[1]!.getTask(created.task.id)).toEqual(created.task);
  });

  it("two stores with their own pools never claim the same task", async () => {
    const [a, b] = [await node(), await node()];
    const name = `claims.${randomUUID()}`;
    const total = 120;
    await Promise.all(Array.from({ length: total }, () => a.createTask(newTask(name))));
    const claimed: string[] = [];
    const claimer = async (store: TaskStore, workerId: string) => {
      for (;;) {
        const batch = await store.claimTasks({
          workerId,
          names: [name],
          limit: 7,
          now: T0,
          leaseMs: LEASE_MS,
        });
        if (batch.length === 0) return;
        claimed.push(...batch.map((c) => c.task.id));
      }
    };
    await Promise.all([a, b, a, b, a, b].map((store, i) => claimer(store, `w${i}`)));
    expect(claimed).toHaveLength(total);
    expect(new Set(claimed).size).toBe(total);
  });

  it("an append on store A rings a watcher on store B within 1 s (NOTIFY, poll off)", async () => {
    const a = await node();
    const b = await node({ pollIntervalMs: 0 });
    const lease = await running(a, "notify.task");
    let rings = 0;
    const unwatch = b.watchEvents(lease.taskId, () => rings++);
    onTestFinished(unwatch);
    await a.appendEvent(lease, event(1));
    await vi.waitFor(() => expect(rings, "the cross-node doorbell").toBeGreaterThan(0), {
      timeout: 1000,
      interval: 5,
    });
    expect(await b.readEvents(lease.taskId, 0, 10)).toEqual([record(1)]);
  });

  it("a terminal settle on A rings B and the terminal event is readable there", async () => {
    const a = await node();
    const b = await node({ pollIntervalMs: 0 });
    const lease = await running(a, "settle.task");
    let rings = 0;
    onTestFinished(b.watchEvents(lease.taskId, () => rings++));
    await a.appendEvent(lease, event(1));
    await a.settleTask(lease, { status: "completed", result: encode(1), event: encode({ r: 1 }) }, T0 + 5);
    await vi.waitFor(
      async () => {
        expect(rings, "a ring").toBeGreaterThan(0);
        expect(await b.readEvents(lease.taskId, 1, 10)).toHaveLength(1);
      },
      { timeout: 1000, interval: 5 },
    );
    expect(await b.readEvents(lease.taskId, 1, 10)).toEqual([
      { seq: 2, name: "completed", data: encode({ r: 1 }), at: T0 + 5 },
    ]);
  });

  it("a cancel requested on A reaches watchCancels on B", async () => {
    const a = await node();
    const b = await node({ pollIntervalMs: 0 });
    const lease = await running(a, "cancel.task");
    const seen: string[] = [];
    onTestFinished(b.watchCancels((taskId) => seen.push(taskId)));
    expect((await a.requestCancel(lease.taskId, T0 + 1, encode(null))).outcome).toBe("requested");
    await vi.waitFor(() => expect(seen, "the cross-node cancel").toContain(lease.taskId), {
      timeout: 1000,
      interval: 5,
    });
    // A repeated request is not a new cancel: no second ring.
    expect((await a.requestCancel(lease.taskId, T0 + 2, encode(null))).outcome).toBe("already_requested");
    expect((await b.renewLease(lease, T0 + 3, LEASE_MS)).cancelRequested).toBe(true);
  });

  it("after its listener connection is killed, B reconnects and rings every watcher", async () => {
    const a = await node();
    const schemaListener = `taskwire-listener`;
    const b = await node({ pollIntervalMs: 0 });
    const lease = await running(a, "reconnect.task");
    let rings = 0;
    onTestFinished(b.watchEvents(lease.taskId, () => rings++));
    const listeners = async () =>
      (
        await env.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2`,
          [schemaListener, `%LISTEN "${env.schema}_events"%`],
        )
      ).map((r) => r.pid);
    const before = await listeners();
    expect(before.length).toBeGreaterThanOrEqual(2); // A's and B's
    // Kill every listener of this schema, then write while they are down: the NOTIFY is lost.
    await env.query(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [before]);
    await a.appendEvent(lease, event(1));
    await vi.waitFor(() => expect(rings, "the after-reconnect ring").toBeGreaterThan(0), {
      timeout: 5000,
      interval: 5,
    });
    await vi.waitFor(
      async () =>
        expect(
          (await listeners()).filter((pid) => !before.includes(pid)),
          "a new listener",
        ).not.toHaveLength(0),
      { timeout: 5000, interval: 5 },
    );
    // And live notifications flow again on the new connection.
    const after = rings;
    await a.appendEvent(lease, event(2));
    await vi.waitFor(() => expect(rings, "a ring on the new connection").toBeGreaterThan(after), {
      timeout: 1000,
      interval: 5,
    });
  });

  it("a stale lease can never write after another node reclaimed the task", async () => {
    const a = await node();
    const b = await node();
    const stale = await running(a, `stale.${randomUUID()}`, "worker-a");
    const task = await a.getTask(stale.taskId);
    const [claimed] = await b.claimTasks({
      workerId: "worker-b",
      names: [task!.name],
      limit: 1,
      now: T0 + LEASE_MS + 1,
      leaseMs: LEASE_MS,
    });
    expect(claimed?.lease.revision).toBe(stale.revision + 1);
    const step = { position: 0, key: "s#0", output: encode(1), emits: 0, startedAt: T0, at: T0, attempts: 1 };
    expect(await conflict(a.appendStep(stale, step))).toBe(true);
    expect(await conflict(a.appendEvent(stale, event(1)))).toBe(true);
    expect(await conflict(a.settleTask(stale, { status: "queued", runAt: T0 }, T0))).toBe(true);
    expect(await a.renewLease(stale, T0, LEASE_MS)).toEqual({ held: false, cancelRequested: false });
    await b.appendStep(claimed!.lease, step);
    await b.appendEvent(claimed!.lease, event(1));
    expect(await b.loadHistory(stale.taskId)).toEqual({ steps: [step], eventNames: ["progress"] });
  });

  it("concurrent writers on two nodes keep seqs contiguous; losers get StoreConflictError", async () => {
    const a = await node();
    const b = await node();
    const lease = await running(a, "seq.task");
    let conflicts = 0;
    const writer = async (store: TaskStore) => {
      for (;;) {
        const task = await store.getTask(lease.taskId);
        const next = task!.emits + 1;
        if (next > 60) return;
        if (await conflict(store.appendEvent(lease, event(next)))) conflicts++;
      }
    };
    await Promise.all([a, b, a, b, a, b, a, b].map(writer));
    const events = await b.readEvents(lease.taskId, 0, 1000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(conflicts).toBeGreaterThan(0);
    expect((await a.getTask(lease.taskId))?.lastSeq).toBe(60);
  });

  it("concurrent starts with one idempotency key on two nodes create exactly one task", async () => {
    const a = await node();
    const b = await node();
    const name = `idem.${randomUUID()}`;
    const idempotency = { key: "k", inputHash: "h", expiresAt: T0 + 1000 };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).createTask({ ...newTask(name), idempotency })),
    );
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const tasks = results.map((r) => {
      if (!("task" in r)) throw new Error("a start was refused by a limit");
      return r;
    });
    const id = tasks.find((r) => r.created)!.task.id;
    for (const r of tasks) expect(r.task.id).toBe(id);
    expect(tasks.every((r) => r.created || !r.conflict)).toBe(true);
  });

  it("a start under maxActivePerOwner racing an unlimited start on one key attaches, never conflicts", async () => {
    const [a, b] = [await node(), await node()];
    const name = `limited.${randomUUID()}`;
    for (let round = 0; round < 200; round++) {
      const idempotency = { key: `k${round}`, inputHash: "h", expiresAt: T0 + 60_000 };
      const [limited, plain] = await Promise.all([
        a.createTask({ ...newTask(name), idempotency, maxActivePerOwner: 1_000 }),
        b.createTask({ ...newTask(name), idempotency }),
      ]);
      if (!("task" in limited) || !("task" in plain)) throw new Error("a start was refused by the limit");
      expect(limited.task.id).toBe(plain.task.id);
      expect([limited.created, plain.created].filter(Boolean)).toHaveLength(1);
    }
  });
});
