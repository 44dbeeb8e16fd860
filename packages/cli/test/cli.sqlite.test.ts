import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failing, SECRET } from "./fixtures/tasks";
import { expectOneLineError, runCli, type Seeded, seedTasks, settled } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "taskwire-cli-"));
const db = join(dir, "tasks.db");
let seeded: Seeded;

beforeAll(async () => {
  failing.on = true;
  seeded = await seedTasks(sqliteStore({ path: db, pollIntervalMs: 20 }));
}, 30_000);

afterAll(async () => {
  await seeded?.taskflow.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const secrets = Object.values(SECRET);

describe("taskwire tasks list / show / events on a SQLite file", () => {
  it("lists tasks as a table and as JSON, filtered, with owners and inputs redacted unless --show-sensitive", async () => {
    const [table, sensitive, failed, byOwner] = await Promise.all([
      runCli(["tasks", "list", "--db", db]),
      runCli(["--show-sensitive", "tasks", "list", "--db", db, "--json"]),
      runCli(["tasks", "list", "--json", "--status", "failed"], { TASKWIRE_DB: db }),
      runCli(["tasks", "list", "--db", db, "--json", "--owner", SECRET.owner, "--limit", "2"]),
    ]);
    expect(table).toMatchObject({ code: 0, stderr: "" });
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+TASK\s+STATUS\s+OWNER\s+AGE$/);
    expect(lines.every((line) => line.length <= 80)).toBe(true);
    expect(table.stdout).toMatch(
      new RegExp(`${seeded.report}\\s+cli\\.report\\s+completed\\s+\\[redacted\\]`),
    );
    expect(table.stdout).toMatch(new RegExp(`${seeded.flaky}\\s+cli\\.flaky\\s+failed`));
    for (const secret of [...secrets, "other-owner"]) expect(table.stdout).not.toContain(secret);

    expect(sensitive.code).toBe(0);
    const listed = JSON.parse(sensitive.stdout) as Array<Record<string, unknown>>;
    expect(listed.map((t) => t.taskId).sort()).toEqual(
      [seeded.report, seeded.parent, seeded.child, seeded.flaky, seeded.toSignal, seeded.toCancel].sort(),
    );
    expect(listed.find((t) => t.taskId === seeded.report)).toMatchObject({
      task: "cli.report",
      status: "completed",
      owner: SECRET.owner,
      input: { label: SECRET.input },
      result: { summary: SECRET.result },
      identity: { userId: SECRET.owner, claims: { plan: "gold" } },
    });

    // --status (database from TASKWIRE_DB), redacted without --show-sensitive.
    expect(JSON.parse(failed.stdout)).toEqual([
      expect.objectContaining({
        taskId: seeded.flaky,
        owner: "[redacted]",
        input: "[redacted]",
        identity: "[redacted]",
        result: null,
        error: { code: "NON_RETRIABLE", message: "disk full" },
      }),
    ]);
    expect(failed.stdout).not.toContain("other-owner");
    // --owner: the newest two of that owner's five tasks (the failed one belongs to someone else; several
    // share a millisecond and the child is spawned whenever its parent runs, so ask the store which two).
    const newestTwo = await seeded.taskflow.store.listTasks({ owner: SECRET.owner, limit: 2 });
    expect(newestTwo.every((t) => t.owner === SECRET.owner)).toBe(true);
    expect(JSON.parse(byOwner.stdout).map((t: { taskId: string }) => t.taskId)).toEqual(
      newestTwo.map((t) => t.id),
    );
    for (const secret of secrets) expect(byOwner.stdout).not.toContain(secret);
  });

  it("shows the record, the step timeline with durations and attempts, the last events and the children", async () => {
    const [report, parent, reportJson] = await Promise.all([
      runCli(["tasks", "show", seeded.report, "--db", db]),
      runCli(["tasks", "show", seeded.parent, "--db", db]),
      runCli(["tasks", "show", seeded.report, "--db", db, "--json", "--show-sensitive", "--events", "1"]),
    ]);
    expect(report).toMatchObject({ code: 0, stderr: "" });
    const out = report.stdout;
    expect(out).toContain(`Task ${seeded.report}`);
    expect(out).toMatch(/^status\s+completed$/m);
    expect(out).toMatch(/^owner\s+\[redacted\]$/m);
    expect(out).toMatch(/^input\s+\[redacted\]$/m);
    expect(out).toMatch(/^#\s+KEY\s+DURATION\s+ATTEMPTS\s+RECORDED$/m);
    // fetch failed once and succeeded on its second attempt; render took one.
    expect(out).toMatch(/^0\s+fetch#0\s+\d+(\.\d)? m?s\s+2\s+\d{4}-\d\d-\d\dT/m);
    expect(out).toMatch(/^1\s+render#0\s+\d+(\.\d)? m?s\s+1\s+/m);
    expect(out).toMatch(/^1\s+\S+Z\s+progress\s+\[redacted\]$/m);
    expect(out).toMatch(/^2\s+\S+Z\s+completed\s+\[redacted\]$/m);
    expect(out).toMatch(/^Children \(0\)$/m);
    for (const secret of secrets) expect(out).not.toContain(secret);
    expect(out.split("\n").every((line) => line.length <= 80)).toBe(true);

    expect(parent.code).toBe(0);
    expect(parent.stdout).toMatch(/^Children \(1\)$/m);
    expect(parent.stdout).toMatch(new RegExp(`^${seeded.child}\\s+cli\\.child\\s+completed$`, "m"));
    // Bridge events are not app data: shown as "<status> <task>" with the child's id below.
    expect(parent.stdout).toMatch(
      new RegExp(`^\\d+\\s+\\S+Z\\s+child\\s+queued cli\\.child\\n\\s+${seeded.child}$`, "m"),
    );

    const shown = JSON.parse(reportJson.stdout);
    expect(shown.task).toMatchObject({ owner: SECRET.owner, input: { label: SECRET.input } });
    expect(shown.steps.map((s: { key: string; attempts: number }) => [s.key, s.attempts])).toEqual([
      ["fetch#0", 2],
      ["render#0", 1],
    ]);
    expect(shown.steps[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(shown.events).toEqual([
      expect.objectContaining({ seq: 2, name: "completed", data: { result: { summary: SECRET.result } } }),
    ]);
    expect(shown.eventCount).toBe(2);
  });

  it("replays a task's events, payloads redacted unless --show-sensitive", async () => {
    const [json, sensitive] = await Promise.all([
      runCli(["tasks", "events", seeded.report, "--db", db, "--json"]),
      runCli(["tasks", "events", seeded.report, "--db", db, "--json", "--show-sensitive"]),
    ]);
    expect(JSON.parse(json.stdout)).toEqual([
      { seq: 1, name: "progress", at: expect.any(String), data: "[redacted]" },
      { seq: 2, name: "completed", at: expect.any(String), data: "[redacted]" },
    ]);
    for (const secret of secrets) expect(json.stdout).not.toContain(secret);
    expect(JSON.parse(sensitive.stdout).map((e: { data: unknown }) => e.data)).toEqual([
      { note: SECRET.payload },
      { result: { summary: SECRET.result } },
    ]);
  });
});

describe("taskwire tasks cancel / retry / signal on a SQLite file", () => {
  it("cancels a waiting task, retries a failed one (and refuses a completed one), signals a waiting one", async () => {
    failing.on = false;
    const [cancel, retry, refused, signal, badJson, finished] = await Promise.all([
      runCli(["tasks", "cancel", seeded.toCancel, "--db", db]),
      runCli(["tasks", "retry", seeded.flaky, "--db", db]),
      runCli(["tasks", "retry", seeded.report, "--db", db]),
      runCli(["tasks", "signal", seeded.toSignal, "approve", '{"approved":true}', "--db", db, "--json"]),
      runCli(["tasks", "signal", seeded.toSignal, "approve", "{approved:", "--db", db]),
      runCli(["tasks", "signal", seeded.report, "approve", "{}", "--db", db]),
    ]);
    const { taskflow, store } = { taskflow: seeded.taskflow, store: seeded.taskflow.store };

    expect(cancel).toMatchObject({ code: 0, stdout: `Task ${seeded.toCancel} cancelled.\n`, stderr: "" });
    expect((await store.getTask(seeded.toCancel))?.status).toBe("cancelled");

    expect(retry).toMatchObject({ code: 0, stderr: "" });
    expect(retry.stdout).toContain(`Task ${seeded.flaky} re-queued (attempt 2)`);
    // The test process's worker resumes it: the failed event stays, the retried run completes after it.
    const events = await settled(taskflow, seeded.flaky);
    expect(events.map((e) => e.name)).toEqual(["failed", "completed"]);

    expect(expectOneLineError(refused)).toBe(
      `error: Task ${seeded.report} is completed; only a failed task can be retried.`,
    );

    expect(signal.code).toBe(0);
    expect(JSON.parse(signal.stdout)).toEqual({
      taskId: seeded.toSignal,
      name: "approve",
      index: 0,
      duplicate: false,
      status: "queued",
    });
    const woken = await settled(taskflow, seeded.toSignal);
    expect(woken.at(-1)).toMatchObject({ name: "completed", data: { result: { approved: true } } });

    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/argument 'json'.*not valid JSON/);
    expect(badJson.stdout).toBe("");
    expect(expectOneLineError(finished)).toBe(
      `error: Task ${seeded.report} is already completed; a finished task takes no signals.`,
    );
  });
});

describe("taskwire errors", () => {
  it("exits 1 with one line for a missing file (never created), a newer schema and an unknown id", async () => {
    const missing = join(dir, "missing.db");
    const newer = join(dir, "newer.db");
    const store = sqliteStore({ path: newer });
    await store.open();
    await store.close();
    const raw = new Database(newer);
    raw
      .prepare("INSERT INTO taskwire_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
      .run();
    raw.close();

    const [absent, ahead, unknown] = await Promise.all([
      runCli(["tasks", "list", "--db", missing]),
      runCli(["tasks", "list", "--db", newer]),
      runCli(["tasks", "show", "00000000-0000-7000-8000-000000000000", "--db", db]),
    ]);
    expect(expectOneLineError(absent)).toBe(
      `error: No SQLite database at ${missing}: the file does not exist (the CLI never creates one).`,
    );
    expect(existsSync(missing)).toBe(false);
    expect(expectOneLineError(ahead)).toMatch(/has schema version 999, newer than this CLI knows \(\d+\)/);
    expect(expectOneLineError(unknown)).toBe(
      "error: Task 00000000-0000-7000-8000-000000000000 was not found.",
    );
  });

  it("exits 2 for usage errors: unknown command, missing id, no database", async () => {
    const results = await Promise.all([
      runCli(["tasks", "frobnicate"]),
      runCli(["tasks", "show", "--db", db]),
      runCli(["tasks", "list"]),
    ]);
    expect(results.map((r) => [r.code, r.stdout, r.stderr.trimEnd()])).toEqual([
      [2, "", "error: unknown command 'frobnicate'"],
      [2, "", "error: missing required argument 'id'"],
      [
        2,
        "",
        "error: No database: pass --db <sqlite file> or --pg <postgres url> (or set TASKWIRE_DB / TASKWIRE_PG_URL).",
      ],
    ]);
  });
});
