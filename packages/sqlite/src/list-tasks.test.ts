import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { listTasksSql } from "./list-tasks";
import { applyMigrations } from "./migrations";

/** The query plan of `listTasks(filter)` on a migrated database, one line per step. */
function planOf(filter: Parameters<typeof listTasksSql>[0]): string {
  const db = new Database(":memory:");
  onTestFinished(() => void db.close());
  applyMigrations(db);
  const { sql, params } = listTasksSql(filter);
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((row) => row.detail).join("\n");
}

describe("listTasks query plan", () => {
  it("an owner's keyset page seeks the owner index past the cursor and stops at the limit (no sort)", () => {
    const plan = planOf({ owner: "o", after: { createdAt: 5, id: "x" }, limit: 51 });
    expect(plan).toContain("USING INDEX taskwire_tasks_owner (owner=? AND (created_at,id)<(?,?))");
    expect(plan).not.toContain("TEMP B-TREE");
  });

  it("an owner's first page reads the owner index in order (no sort)", () => {
    const plan = planOf({ owner: "o", limit: 51 });
    expect(plan).toContain("USING INDEX taskwire_tasks_owner (owner=?)");
    expect(plan).not.toContain("TEMP B-TREE");
  });
});
