import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./index";
import { resolveTarget, scrub } from "./session/target";

const dir = mkdtempSync(join(tmpdir(), "taskwire-run-"));
const db = join(dir, "tasks.db");
beforeAll(async () => {
  const store = sqliteStore({ path: db });
  await store.open();
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI in this process, collecting what it prints. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  });
  return { code, stdout, stderr };
}

describe("run (in process)", () => {
  it("answers usage errors with exit 2 and help with exit 0", async () => {
    expect(await cli(["tasks", "list", "--db", db, "--pg", "postgres://h/x"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "error: Give --db or --pg, not both.\n",
    });
    const status = await cli(["tasks", "list", "--db", db, "--status", "running,sleeping"]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(
      "Use one or more of queued, running, retrying, waiting, completed, failed, cancelled",
    );
    expect((await cli(["tasks", "list", "--db", db, "--limit", "0"])).code).toBe(2);
    expect((await cli(["tasks", "show", "x", "--db", db, "--events", "-1"])).code).toBe(2);
    expect(
      (await cli(["tasks", "list"], { TASKWIRE_DB: db, TASKWIRE_PG_URL: "postgres://h/x" })).stderr,
    ).toBe("error: Both TASKWIRE_DB and TASKWIRE_PG_URL are set: pass --db or --pg to choose one.\n");
    const help = await cli(["tasks", "signal", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("the task validates it when it consumes it");
    expect(help.stdout).toContain("--idempotency-key <key>");
    expect((await cli(["tasks", "events", "--help"])).stdout).toContain("one JSON object per line (NDJSON)");
  });

  it("refuses a foreign SQLite file or one that is not SQLite, changing nothing, and an unknown id, in one line", async () => {
    const foreign = join(dir, "foreign.db");
    new Database(foreign).exec("CREATE TABLE notes (body TEXT)").close();
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, "not a database at all");
    const results = await Promise.all([
      cli(["tasks", "list", "--db", foreign]),
      cli(["tasks", "list", "--db", garbage]),
      cli(["tasks", "list", "--db", dir]),
      cli(["tasks", "cancel", "nope", "--db", db]),
      cli(["tasks", "retry", "nope", "--db", db]),
      cli(["tasks", "signal", "nope", "go", "{}", "--db", db]),
      cli(["tasks", "events", "nope", "--db", db]),
      cli(["tasks", "events", "nope", "--follow", "--db", db]),
    ]);
    expect(results.map((r) => r.stderr)).toEqual([
      `error: ${foreign} is not a Taskwire database (it has no taskwire_migrations table).\n`,
      `error: Cannot read the SQLite database ${garbage}: file is not a database\n`,
      `error: ${dir} is not a SQLite database file.\n`,
      ...Array(5).fill("error: Task nope was not found.\n"),
    ]);
    expect(results.every((r) => r.code === 1 && r.stdout === "")).toBe(true);
    const tables = new Database(foreign, { readonly: true })
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all();
    expect(tables).toEqual(["notes"]);
  });

  it("reads the database from flags before the environment, and masks PostgreSQL passwords", async () => {
    expect(await cli(["tasks", "list", "--pg", "postgres://user:secret@127.0.0.1:port/x"])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "error: The PostgreSQL URL is not valid: expected postgres://user:password@host:port/database.\n",
    });
    const env = { TASKWIRE_DB: "env.db", TASKWIRE_PG_URL: "postgres://u:pw@h/d", TASKWIRE_PG_SCHEMA: "apps" };
    expect(resolveTarget({ db: "flag.db" }, env)).toEqual({ kind: "sqlite", path: "flag.db" });
    expect(resolveTarget({}, { TASKWIRE_DB: "env.db" })).toEqual({ kind: "sqlite", path: "env.db" });
    const target = resolveTarget({ pg: "postgres://u:p%40ss@h:5/d?sslpassword=k3y" }, env);
    expect(target).toMatchObject({
      kind: "postgres",
      schema: "apps",
      shownUrl: "postgres://u:***@h:5/d?sslpassword=***",
    });
    expect(scrub("failed for postgres://u:p%40ss@h:5/d?sslpassword=k3y with p@ss and k3y", target)).toBe(
      "failed for postgres://u:***@h:5/d?sslpassword=*** with *** and ***",
    );
    expect(resolveTarget({ pg: "postgres://h/d", pgSchema: "mine" }, env)).toMatchObject({ schema: "mine" });
    expect(() => resolveTarget({ pg: "mysql://u:pw@h/d" }, {})).toThrow("must start with postgres://");
    expect(() => resolveTarget({ pg: "postgres://u:pw@h:port/d" }, {})).toThrow(
      "The PostgreSQL URL is not valid: expected postgres://user:password@host:port/database.",
    );
  });
});
