import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { MIGRATIONS } from "./migrations";
import { sqliteStore } from "./sqlite-store";

/** A database file at schema version `version`, built with the migrations that shipped up to it. */
function databaseAt(version: number): { path: string; db: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), "taskwire-migrations-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "tasks.db");
  const db = new Database(path);
  db.exec(
    "CREATE TABLE taskwire_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(migration.sql);
    db.prepare("INSERT INTO taskwire_migrations VALUES (?, ?, 0)").run(migration.version, migration.name);
  }
  return { path, db };
}

/** Inserts a task row in the version-3 shape (no `emits` column) with the given WAL event names. */
function insertV3Task(db: Database.Database, id: string, status: string, events: string[]): void {
  db.prepare(
    `INSERT INTO taskwire_tasks (id, name, status, revision, input, owner, attempt, claims, run_at, last_seq,
       created_at, updated_at)
     VALUES (?, 'demo.task', ?, 3, '{}', 'user-1', 1, 1, 0, ?, 0, 0)`,
  ).run(id, status, events.length);
  const insert = db.prepare(
    "INSERT INTO taskwire_events (task_id, seq, name, data, at) VALUES (?, ?, ?, '{}', 0)",
  );
  for (const [i, name] of events.entries()) insert.run(id, i + 1, name);
}

describe("migration 4 (flows)", () => {
  it("backfills emits from the WAL of tasks written by version 3, so they replay and append at the right positions", async () => {
    const { path, db } = databaseAt(3);
    insertV3Task(db, "failed-parent", "failed", ["progress", "child", "progress", "child", "failed"]);
    insertV3Task(db, "completed", "completed", ["progress", "completed"]);
    insertV3Task(db, "cancelled", "cancelled", ["cancelled"]);
    db.close();

    const store = sqliteStore({ path });
    onTestFinished(() => store.close());
    await store.open();
    expect((await store.getTask("failed-parent"))?.emits).toBe(2);
    expect((await store.getTask("completed"))?.emits).toBe(1);
    expect((await store.getTask("cancelled"))?.emits).toBe(0);
    expect((await store.loadHistory("failed-parent")).eventNames).toEqual(["progress", "progress"]);

    // The retried run's next emit is position 2; position 4 (its last_seq) would be a gap.
    await store.retryTask("failed-parent", 10);
    const [claimed] = await store.claimTasks({
      workerId: "w",
      names: ["demo.task"],
      limit: 1,
      now: 10,
      leaseMs: 1000,
    });
    if (!claimed) throw new Error("the retried task was not claimed");
    const event = { name: "progress", data: "{}", at: 11 };
    await expect(store.appendEvent(claimed.lease, { ...event, position: 4 })).rejects.toMatchObject({
      code: "STORE_CONFLICT",
    });
    expect(await store.appendEvent(claimed.lease, { ...event, position: 2 })).toBe(6);
  });
});

describe("migration 5 (step timing)", () => {
  it("gives checkpoints written by version 4 started_at = at and one attempt; new ones keep their timing", async () => {
    const { path, db } = databaseAt(4);
    insertV3Task(db, "old", "running", []);
    db.prepare(
      "INSERT INTO taskwire_steps (task_id, position, key, output, emits, at) VALUES ('old', 0, 'a#0', '1', 0, 500)",
    ).run();
    db.close();

    const store = sqliteStore({ path });
    onTestFinished(() => store.close());
    await store.open();
    const old = { position: 0, key: "a#0", output: "1", emits: 0 };
    expect((await store.loadHistory("old")).steps).toEqual([
      { ...old, startedAt: 500, at: 500, attempts: 1 },
    ]);
  });
});
