import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Lease } from "@taskwire/core/store";
import { sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { newTask, openStore, tempDir } from "./helpers";

describe("sqliteStore on a file", () => {
  it("keeps tasks, checkpoints and events across close and reopen", async () => {
    const path = join(tempDir(), "tasks.db");
    const first = sqliteStore({ path });
    await first.open();
    const created = await first.createTask(newTask({ claimFor: { workerId: "w", leaseMs: 60_000 } }));
    const lease = (created as { lease: Lease }).lease;
    await first.appendStep(lease, {
      position: 0,
      key: "fetch#0",
      output: '{"rows":[1]}',
      emits: 1,
      startedAt: 990,
      at: 1001,
      attempts: 2,
    });
    await first.appendEvent(lease, { position: 0, name: "progress", data: '{"done":1}', at: 1001 });
    await first.settleTask(lease, { status: "completed", result: '"ok"', event: "{}" }, 1002);
    const settled = await first.getTask(lease.taskId);
    await first.close();

    const second = await openStore({ path });
    expect(await second.getTask(lease.taskId)).toEqual(settled);
    expect(await second.loadHistory(lease.taskId)).toEqual({
      steps: [
        {
          position: 0,
          key: "fetch#0",
          output: '{"rows":[1]}',
          emits: 1,
          startedAt: 990,
          at: 1001,
          attempts: 2,
        },
      ],
      eventNames: ["progress"],
    });
    expect(await second.readEvents(lease.taskId, 0, 10)).toEqual([
      { seq: 1, name: "progress", data: '{"done":1}', at: 1001 },
      { seq: 2, name: "completed", data: "{}", at: 1002 },
    ]);
  });

  it("creates .taskwire/tasks.db under the working directory by default", async () => {
    const dir = tempDir();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = await openStore({});
      await store.createTask(newTask());
      await store.close();
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, ".taskwire", "tasks.db"))).toBe(true);
  });

  it("creates missing parent directories of path", async () => {
    const path = join(tempDir(), "a", "b", "tasks.db");
    await openStore({ path });
    expect(existsSync(path)).toBe(true);
  });

  it("applies WAL, synchronous, busy_timeout and foreign keys to a connection it is given, and never closes it", async () => {
    const db = new Database(join(tempDir(), "given.db"));
    onTestFinished(() => void db.close());
    const store = await openStore({ database: db, synchronous: "FULL", busyTimeoutMs: 1234 });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
    expect(db.pragma("busy_timeout", { simple: true })).toBe(1234);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    await store.close();
    expect(db.open).toBe(true);
  });

  it("defaults to synchronous = NORMAL", async () => {
    const db = new Database(join(tempDir(), "given.db"));
    onTestFinished(() => void db.close());
    await openStore({ database: db });
    expect(db.pragma("synchronous", { simple: true })).toBe(1); // NORMAL
  });

  it("records migrations once, however often it is opened", async () => {
    const path = join(tempDir(), "tasks.db");
    for (let i = 0; i < 3; i++) {
      const store = sqliteStore({ path });
      await store.open();
      await store.open();
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    onTestFinished(() => void db.close());
    expect(db.prepare("SELECT version, name FROM taskwire_migrations").all()).toEqual([
      { version: 1, name: "initial" },
      { version: 2, name: "claim_index_order" },
      { version: 3, name: "owner_active_index" },
      { version: 4, name: "flows" },
      { version: 5, name: "step_timing" },
      { version: 6, name: "retention" },
      { version: 7, name: "priority_fair_claims" },
      { version: 8, name: "start_rate_buckets" },
      { version: 9, name: "debounce_windows" },
    ]);
    // maxActivePerOwner's count reads the partial owner index, not the owner's whole history.
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM taskwire_tasks WHERE owner = ? AND status NOT IN ('completed', 'failed', 'cancelled')",
      )
      .all("someone") as Array<{ detail: string }>;
    expect(plan.map((row) => row.detail).join(" ")).toContain("taskwire_tasks_owner_active");
    // maxQueued's count reads the queue index (its predicate), not the whole table.
    const queuedPlan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM taskwire_tasks WHERE status = 'queued' AND lease_expires_at IS NULL",
      )
      .all() as Array<{ detail: string }>;
    expect(queuedPlan.map((row) => row.detail).join(" ")).toContain("taskwire_tasks_queue");
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'taskwire_%' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual([
      "taskwire_debounce",
      "taskwire_events",
      "taskwire_idempotency",
      "taskwire_migrations",
      "taskwire_signals",
      "taskwire_start_buckets",
      "taskwire_steps",
      "taskwire_tasks",
    ]);
  });

  it("refuses a file whose schema is newer than this package", async () => {
    const path = join(tempDir(), "tasks.db");
    await (await openStore({ path })).close();
    const db = new Database(path);
    db.prepare("INSERT INTO taskwire_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
    db.close();
    await expect(sqliteStore({ path }).open()).rejects.toThrow(/version 999/);
  });

  it("close commits writes still queued for the group commit, then rejects further calls", async () => {
    const path = join(tempDir(), "tasks.db");
    const store = sqliteStore({ path });
    await store.open();
    const pending = store.createTask(newTask({ id: "queued-at-close" }));
    await store.close();
    await expect(pending).resolves.toMatchObject({ created: true });
    await expect(store.getTask("queued-at-close")).rejects.toThrow(/closed/);
    await expect(store.createTask(newTask())).rejects.toThrow(/closed/);
    const reopened = await openStore({ path });
    expect(await reopened.getTask("queued-at-close")).toMatchObject({ status: "queued" });
  });

  it("stops ringing watchers once closed", async () => {
    const path = join(tempDir(), "tasks.db");
    const writer = await openStore({ path });
    const created = await writer.createTask(newTask({ claimFor: { workerId: "w", leaseMs: 60_000 } }));
    const lease = (created as { lease: Lease }).lease;
    const store = await openStore({ path, pollIntervalMs: 5 });
    let rings = 0;
    store.watchEvents(lease.taskId, () => rings++);
    store.watchCancels(() => rings++);
    await store.close();
    await writer.appendEvent(lease, { position: 0, name: "progress", data: "{}", at: 1 });
    await writer.requestCancel(lease.taskId, 2, "{}");
    await new Promise((resolve) => setTimeout(resolve, 50)); // ten poll intervals: proving a negative
    expect(rings).toBe(0);
  });
});
