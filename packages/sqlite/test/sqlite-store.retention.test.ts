import { join } from "node:path";
import type { Lease } from "@taskwire/core/store";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { prepareRetentionStatements } from "../src/retention";
import { newTask, openStore, tempDir } from "./helpers";

const DEPENDENT_TABLES = ["taskwire_steps", "taskwire_events", "taskwire_signals", "taskwire_idempotency"];

/** The query plan of a statement, one line per step. */
function planOf(db: Database.Database, sql: string, params: unknown[]): string {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join("\n");
}

describe("sqliteStore retention and erasure", () => {
  it("purges through the index of finished roots and erases through the owner index, never a table scan", async () => {
    const path = join(tempDir(), "tasks.db");
    await (await openStore({ path })).close();
    const db = new Database(path, { readonly: true });
    onTestFinished(() => void db.close());
    const s = prepareRetentionStatements((sql) => db.prepare(sql));
    const purge = planOf(db, s.purgeTrees.source, [1000, 500]);
    expect(purge).toContain("SEARCH r USING INDEX taskwire_tasks_finished_roots (updated_at<?)");
    expect(purge).toMatch(/SEARCH c USING (COVERING )?INDEX taskwire_tasks_parent \(parent_id=\?\)/);
    expect(purge).not.toMatch(/SCAN (r|c|taskwire_tasks)\b/);
    const erase = planOf(db, s.deleteOwnerTasks.source, ["someone", 500]);
    expect(erase).toMatch(/SEARCH taskwire_tasks USING (COVERING )?INDEX taskwire_tasks_owner \(owner=\?\)/);
  });

  it("leaves no dependent row behind (cascade), and the deletion survives a reopen", async () => {
    const path = join(tempDir(), "tasks.db");
    const store = await openStore({ path });
    const erased = "erased-user";
    const idempotency = { key: "k", inputHash: "h", expiresAt: 1_000_000 };
    const tasks = [];
    for (const owner of ["retired-user", erased]) {
      const created = await store.createTask(
        newTask({ owner, idempotency, claimFor: { workerId: "w", leaseMs: 60_000 } }),
      );
      const { lease } = created as { lease: Lease };
      const step = { position: 0, key: "s#0", output: "1", emits: 0, startedAt: 1000, at: 1000, attempts: 1 };
      await store.appendStep(lease, step);
      await store.appendEvent(lease, { position: 0, name: "progress", data: "{}", at: 1000 });
      await store.deliverSignal({ taskId: lease.taskId, name: "go", payload: "1", now: 1000 });
      await store.settleTask(lease, { status: "completed", result: "1", event: "{}" }, 1001);
      tasks.push(lease.taskId);
    }
    const [retired, ofErased] = tasks as [string, string];
    expect(await store.deleteTasksOfOwner(erased, 10)).toBe(1);
    expect(await store.getTask(retired)).toBeDefined();
    expect(await store.purgeTasks({ finishedBefore: 2000, limit: 10 })).toBe(1);
    await store.close();

    const db = new Database(path, { readonly: true });
    onTestFinished(() => void db.close());
    expect(db.prepare("SELECT count(*) FROM taskwire_tasks").pluck().get()).toBe(0);
    for (const table of DEPENDENT_TABLES) {
      const left = db.prepare(`SELECT count(*) FROM ${table} WHERE task_id IN (?, ?)`).pluck();
      expect(left.get(retired, ofErased), table).toBe(0);
    }
  });
});
