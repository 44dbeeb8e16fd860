import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { applyMigrations } from "./migrations";
import { prepareStatements, type Statements } from "./statements";

/** The query plan of a prepared statement, one line per step. */
function planOf(key: keyof Statements): string {
  const db = new Database(":memory:");
  onTestFinished(() => void db.close());
  applyMigrations(db);
  const source = prepareStatements(db)[key].source;
  const params = Array.from(source.matchAll(/\?/g), () => null);
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...params) as Array<{ detail: string }>;
  return rows.map((row) => row.detail).join("\n");
}

describe("query plans", () => {
  it.each(["claimQueued", "claimQueuedIn"] as const)(
    "%s reads the queue index in claim order (priority, fair turn, run_at) and stops at the limit (no sort)",
    (key) => {
      const plan = planOf(key);
      expect(plan).toContain("USING INDEX taskwire_tasks_queue");
      expect(plan).not.toContain("TEMP B-TREE");
    },
  );

  it("the fair turn of an insert is two seeks: the owner's highest and the queue's lowest", () => {
    const plan = planOf("insertTask");
    expect(plan).toContain("USING INDEX taskwire_tasks_owner_active (owner=?)");
    expect(plan).toContain("USING INDEX taskwire_tasks_queue (priority=?)");
  });

  it.each(["claimRetrying", "claimWaiting", "claimWaitingIn"] as const)(
    "%s reads the claim index in run_at order and stops at the limit (no sort)",
    (key) => {
      const plan = planOf(key);
      expect(plan).toContain(
        "USING INDEX taskwire_tasks_claim (status=? AND lease_expires_at=? AND run_at<?)",
      );
      expect(plan).not.toContain("TEMP B-TREE");
    },
  );

  it("the active-children check reads one parent's children, not every unfinished task", () => {
    expect(planOf("activeChild")).toContain("USING INDEX taskwire_tasks_parent (parent_id=?)");
  });

  it("signal lookups are single seeks", () => {
    expect(planOf("signalFrom")).toContain("USING PRIMARY KEY (task_id=? AND name=? AND idx>?)");
    expect(planOf("lastSignalIndex")).toContain("USING PRIMARY KEY (task_id=? AND name=?)");
    expect(planOf("signalByKey")).toContain("USING COVERING INDEX taskwire_signals_key");
  });
});
