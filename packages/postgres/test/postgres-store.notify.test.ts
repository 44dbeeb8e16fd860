import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { encode, type Lease, type TaskStore } from "@taskwire/core/store";
import { type PostgresStoreOptions, postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { pino } from "pino";
import { expect, it, onTestFinished, vi } from "vitest";
import { startTcpProxy } from "./tcp-proxy";

const env = await setupPgEnv("notify");
const T0 = 1_000_000_000_000;

async function opened(options: Partial<PostgresStoreOptions> = {}): Promise<TaskStore> {
  const store = postgresStore({ connectionString: env.url, schema: env.schema, max: 4, ...options });
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

async function running(store: TaskStore, id: string = randomUUID()): Promise<Lease> {
  const res = await store.createTask({
    id,
    name: "notify.task",
    input: encode({}),
    owner: "owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
    claimFor: { workerId: "worker-a", leaseMs: 60_000 },
  });
  if (!res.created || !res.lease) throw new Error("no lease");
  return res.lease;
}

/** The n-th emitted event (n = 1, 2 …): emit position n - 1, at seq n. */
const event = (n: number, data = encode({ seq: n })) => ({
  position: n - 1,
  name: "progress",
  data,
  at: T0 + n,
});

/** A raw LISTEN connection on one of this schema's channels, recording every payload. */
async function rawListener(channel: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: env.url });
  await client.connect();
  onTestFinished(() => client.end());
  const payloads: string[] = [];
  client.on("notification", (m) => payloads.push(m.payload ?? ""));
  await client.query(`LISTEN "${channel}"`);
  return payloads;
}

describePg(env, "postgresStore notifications after commit", () => {
  it("coalesces the doorbells of concurrent writes into a few batched payloads below 8000 bytes", async () => {
    const store = await opened({ max: 10 });
    const payloads = await rawListener(`${env.schema}_events`);
    // Long ids (with a comma, which the payload escapes) so 300 of them cannot fit one payload.
    const leases = await Promise.all(
      Array.from({ length: 300 }, (_, i) => running(store, `task,${i}-${"x".repeat(40)}-${randomUUID()}`)),
    );
    await Promise.all(leases.map((lease) => store.appendEvent(lease, event(1))));
    const ids = new Set(leases.map((l) => l.taskId));
    const heard = () =>
      new Set(
        payloads.flatMap((p) =>
          p
            .slice(p.indexOf("|") + 1)
            .split(",")
            .map((s) => s.replaceAll("%2C", ",")),
        ),
      );
    await vi.waitFor(
      () => {
        const rung = heard();
        expect(
          [...ids].filter((id) => !rung.has(id)),
          "tasks without a doorbell",
        ).toEqual([]);
      },
      { timeout: 3000, interval: 5 },
    );
    expect(payloads.length).toBeGreaterThanOrEqual(3); // 300 × ~86 bytes needs at least 4 payloads…
    expect(payloads.length).toBeLessThan(150); // …and nothing like one per write
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
  });

  it("terminal settlements and cancels ring after commit, on their own channels", async () => {
    const store = await opened();
    const events = await rawListener(`${env.schema}_events`);
    const cancels = await rawListener(`${env.schema}_cancels`);
    const settled = await running(store);
    const cancelled = await running(store);
    const retried = await running(store);
    await store.settleTask(settled, { status: "completed", result: encode(1), event: encode({}) }, T0 + 1);
    await store.settleTask(retried, { status: "queued", runAt: T0 }, T0 + 1); // no event, no doorbell
    expect((await store.requestCancel(cancelled.taskId, T0 + 2, encode(null))).outcome).toBe("requested");
    expect((await store.requestCancel(cancelled.taskId, T0 + 3, encode(null))).outcome).toBe(
      "already_requested",
    );
    const ids = (payloads: string[]) => payloads.map((p) => p.slice(p.indexOf("|") + 1));
    await vi.waitFor(
      () => {
        expect(ids(events), "event rings").toContain(settled.taskId);
        expect(ids(cancels), "cancel rings").toContain(cancelled.taskId);
      },
      { timeout: 2000, interval: 5 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.join(",")).not.toContain(retried.taskId);
    expect(ids(cancels)).toEqual([cancelled.taskId]); // a repeated request is not a new cancel
  });

  it("rings this store's own watchers directly, without the listener, in the watcher's context", async () => {
    const proxy = await startTcpProxy(env.url);
    onTestFinished(() => proxy.close());
    // Queries go straight to PostgreSQL; only the LISTEN connection (built from the pool's options)
    // goes through the proxy, so cutting the proxy silences notifications and nothing else.
    class DirectClient extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super({ ...config, connectionString: env.url });
      }
    }
    const pool = new pg.Pool({ connectionString: proxy.url, max: 3, Client: DirectClient });
    pool.on("error", () => undefined);
    onTestFinished(() => pool.end());
    const a = await opened();
    const b = await opened({ pool, connectionString: undefined, pollIntervalMs: 0 });
    const local = await running(b);
    const remote = await running(a);
    const als = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    let remoteRings = 0;
    als.run("watcher", () => {
      onTestFinished(b.watchEvents(local.taskId, () => seen.push(als.getStore())));
      onTestFinished(b.watchEvents(remote.taskId, () => remoteRings++));
      onTestFinished(b.watchCancels((taskId) => seen.push(`cancel:${taskId}`)));
    });

    proxy.cut(); // B can no longer hear any NOTIFY (and cannot reconnect)
    await als.run("writer", () => b.appendEvent(local, event(1)));
    await a.appendEvent(remote, event(1));
    await als.run("writer", () => b.requestCancel(local.taskId, T0, encode(null)));
    await vi.waitFor(() => expect(seen.length, "the in-process rings").toBeGreaterThanOrEqual(2), {
      timeout: 1000,
      interval: 5,
    });
    expect(seen).toEqual(["watcher", `cancel:${local.taskId}`]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(remoteRings).toBe(0); // A's write reaches B only through NOTIFY, which is cut

    proxy.resume(); // the listener reconnects and rings every watcher
    await vi.waitFor(() => expect(remoteRings, "the after-reconnect ring").toBeGreaterThan(0), {
      timeout: 8000,
      interval: 5,
    });
  });

  it("rings its own watchers once per write (it skips its own NOTIFY) and another store's through NOTIFY", async () => {
    const a = await opened();
    const b = await opened({ pollIntervalMs: 0 });
    const lease = await running(a);
    let ownRings = 0;
    let otherRings = 0;
    const ownCancels: string[] = [];
    onTestFinished(a.watchEvents(lease.taskId, () => ownRings++));
    onTestFinished(b.watchEvents(lease.taskId, () => otherRings++));
    onTestFinished(a.watchCancels((taskId) => ownCancels.push(taskId)));
    for (let seq = 1; seq <= 3; seq++) {
      await a.appendEvent(lease, event(seq));
      await vi.waitFor(
        () =>
          expect({ ownRings, otherRings }, `the rings of event ${seq}`).toEqual({
            ownRings: seq,
            otherRings: seq,
          }),
        { timeout: 2000, interval: 5 },
      );
    }
    await a.requestCancel(lease.taskId, T0, encode(null));
    await new Promise((resolve) => setTimeout(resolve, 200)); // time for a duplicate to show up
    expect([ownRings, otherRings]).toEqual([3, 3]);
    expect(ownCancels).toEqual([lease.taskId]);
    // A hand-written NOTIFY carrying a bare task id (no origin tag) rings every store.
    await env.query("SELECT pg_notify($1, $2)", [`${env.schema}_events`, lease.taskId]);
    await vi.waitFor(
      () =>
        expect({ ownRings, otherRings }, "the rings of a hand-written NOTIFY").toEqual({
          ownRings: 4,
          otherRings: 4,
        }),
      { timeout: 2000, interval: 5 },
    );
  });

  it("logs migrations and listener failures and reconnects, never event payloads", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)));
        callback();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    const schema = env.freshSchema("logs");
    const store = await opened({ schema, logger });
    expect(lines.filter((l) => l.event === "store.migration_applied")).toMatchObject([
      { schema, version: 1, store: "postgres" },
      { schema, version: 2, store: "postgres" },
      { schema, version: 3, store: "postgres" },
      { schema, version: 4, store: "postgres" },
      { schema, version: 5, store: "postgres" },
      { schema, version: 6, store: "postgres" },
      { schema, version: 7, store: "postgres" },
      { schema, version: 8, store: "postgres" },
    ]);
    const lease = await running(store);
    await store.appendEvent(lease, event(1, encode({ secret: "PAYLOAD-MUST-NOT-BE-LOGGED" })));
    await env.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'taskwire-listener' AND query LIKE $1`,
      [`%LISTEN "${schema}_events"%`],
    );
    await vi.waitFor(
      () =>
        expect(
          lines.map((l) => l.event),
          "a reconnect",
        ).toContain("store.listener_reconnected"),
      { timeout: 5000, interval: 5 },
    );
    const failed = lines.find((l) => l.event === "store.listener_failed");
    expect(failed).toMatchObject({ schema, level: 40 });
    expect(lines.find((l) => l.event === "store.listener_reconnected")).toMatchObject({ schema, level: 30 });
    expect(JSON.stringify(lines)).not.toContain("PAYLOAD-MUST-NOT-BE-LOGGED");
  });
});
