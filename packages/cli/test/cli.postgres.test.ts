import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { afterAll, beforeAll, expect, it, onTestFinished, vi } from "vitest";
import { failing, SECRET } from "./fixtures/tasks";
import { expectOneLineError, runCli, type Seeded, seedTasks, spawnCli, startPacedWorker } from "./helpers";

const env = await setupPgEnv("cli");
let seeded: Seeded;
const pg = () => ["--pg", env.url, "--pg-schema", env.schema];

describePg(env, "taskwire against a PostgreSQL schema", () => {
  beforeAll(async () => {
    failing.on = true;
    seeded = await seedTasks(
      postgresStore({ connectionString: env.url, schema: env.schema, pollIntervalMs: 200 }),
    );
  }, 30_000);
  afterAll(async () => {
    await seeded?.taskflow.shutdown();
  });

  it("lists, shows and cancels, redacting owners and inputs unless --show-sensitive", async () => {
    const [table, revealed, show, cancel] = await Promise.all([
      runCli(["tasks", "list", ...pg()]),
      runCli(["tasks", "list", "--json", "--show-sensitive", "--task", "cli.report"], {
        TASKWIRE_PG_URL: env.url,
        TASKWIRE_PG_SCHEMA: env.schema,
      }),
      runCli(["tasks", "show", seeded.parent, ...pg()]),
      runCli(["tasks", "cancel", seeded.toCancel, ...pg(), "--json"]),
    ]);
    expect(table).toMatchObject({ code: 0, stderr: "" });
    expect(table.stdout).toMatch(
      new RegExp(`${seeded.report}\\s+cli\\.report\\s+completed\\s+\\[redacted\\]`),
    );
    for (const secret of Object.values(SECRET)) expect(table.stdout).not.toContain(secret);
    expect(JSON.parse(revealed.stdout)).toEqual([
      expect.objectContaining({ taskId: seeded.report, owner: SECRET.owner, input: { label: SECRET.input } }),
    ]);
    expect(show.stdout).toMatch(/^0\s+spawn:cli\.child#0\s+\d+(\.\d)? m?s\s+1\s+/m);
    expect(show.stdout).toMatch(new RegExp(`^${seeded.child}\\s+cli\\.child\\s+completed$`, "m"));
    expect(JSON.parse(cancel.stdout)).toEqual({
      taskId: seeded.toCancel,
      status: "cancelled",
      outcome: "cancelled",
    });
    expect((await seeded.taskflow.store.getTask(seeded.toCancel))?.status).toBe("cancelled");
  });

  it("follows live events of a task run by another process until its terminal event", async () => {
    const { worker, taskId } = await startPacedWorker(["postgres", env.url, env.schema]);
    onTestFinished(async () => {
      await worker.stop();
    });
    const follow = spawnCli(["tasks", "events", taskId, "--follow", ...pg()]);
    onTestFinished(async () => {
      await follow.kill();
    });
    await vi.waitFor(() => expect(follow.lines).toHaveLength(2), { timeout: 20_000, interval: 20 });
    expect(follow.lines).toEqual([
      expect.stringMatching(/^SEQ\s+AT\s+NAME\s+DATA$/),
      expect.stringMatching(/^1\s+\S+Z\s+tick\s+\[redacted\]$/),
    ]);
    const signal = await runCli(["tasks", "signal", taskId, "go", "{}", ...pg()]);
    expect(signal.stdout).toContain(
      `Signal "go" delivered to task ${taskId} (#0 of that name; task now queued).`,
    );
    expect(await follow.exited).toEqual({ code: 0, signal: null });
    expect(follow.lines.slice(2)).toEqual([
      expect.stringMatching(/^2\s+\S+Z\s+tick\s+\[redacted\]$/),
      expect.stringMatching(/^3\s+\S+Z\s+completed\s+\[redacted\]$/),
    ]);
  });

  it("exits 1 with one line for a missing schema (not created), a newer schema and an unreachable URL (password never printed)", async () => {
    const missing = env.freshSchema("missing");
    const newer = env.freshSchema("newer");
    const store = postgresStore({ connectionString: env.url, schema: newer });
    await store.open();
    await store.close();
    await env.query(`INSERT INTO ${newer}.migrations (version, name) VALUES (999, 'future')`);

    const [absent, ahead, refused] = await Promise.all([
      runCli(["tasks", "list", "--pg", env.url, "--pg-schema", missing]),
      runCli(["tasks", "list", "--pg", env.url, "--pg-schema", newer]),
      runCli(["tasks", "list", "--pg", "postgres://user:secret@127.0.0.1:1/x"]),
    ]);
    expect(expectOneLineError(absent)).toContain(`PostgreSQL schema "${missing}" does not exist`);
    expect(await env.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [missing])).toEqual([]);
    expect(expectOneLineError(ahead)).toMatch(
      new RegExp(`PostgreSQL schema "${newer}" has schema version 999, newer than this CLI knows \\(\\d+\\)`),
    );
    const line = expectOneLineError(refused);
    expect(line).toContain("postgres://user:***@127.0.0.1:1/x");
    expect(line).toContain("ECONNREFUSED");
    expect(refused.stderr).not.toContain("secret"); // a malformed URL is never echoed: see run.test.ts
  });
});
