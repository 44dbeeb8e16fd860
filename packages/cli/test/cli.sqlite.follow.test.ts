import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { runCli, spawnCli, startPacedWorker } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "taskwire-cli-follow-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("taskwire tasks events --follow on a SQLite file", () => {
  it("streams the events of a task run by another process as they happen, and exits 0 at its end or on SIGINT", async () => {
    const db = join(dir, "follow.db");
    const { worker, taskId } = await startPacedWorker(["sqlite", db]);
    onTestFinished(async () => {
      await worker.stop();
    });
    const follow = spawnCli(["tasks", "events", taskId, "--follow", "--json", "--db", db]);
    const interrupted = spawnCli(["tasks", "events", taskId, "--follow", "--db", db]);
    onTestFinished(async () => {
      await Promise.all([follow.kill(), interrupted.kill()]);
    });

    // The task emitted tick 1 and now waits for "go": the followers print it although the task is not over.
    await vi.waitFor(() => expect(follow.lines).toHaveLength(1), { timeout: 20_000, interval: 20 });
    expect(JSON.parse(follow.lines[0] as string)).toEqual({
      seq: 1,
      name: "tick",
      at: expect.any(String),
      data: "[redacted]",
    });
    await vi.waitFor(() => expect(interrupted.lines).toHaveLength(2), { timeout: 20_000, interval: 20 });
    expect(interrupted.lines[0]).toMatch(/^SEQ\s+AT\s+NAME\s+DATA$/);
    expect(interrupted.lines[1]).toMatch(/^1\s+\S+Z\s+tick\s+\[redacted\]$/);
    interrupted.child.kill("SIGINT");
    expect(await interrupted.exited).toEqual({ code: 0, signal: null });

    expect(follow.child.exitCode).toBe(null); // still following
    const signal = await runCli(["tasks", "signal", taskId, "go", "{}", "--db", db, "--json"]);
    // It was waiting (the delivery woke it), so the follower got tick 1 before the task finished.
    expect(JSON.parse(signal.stdout)).toMatchObject({ taskId, name: "go", status: "queued" });

    // The worker process resumes it; the follower prints tick 2 and the terminal event live, then exits 0.
    expect(await follow.exited).toEqual({ code: 0, signal: null });
    const events = follow.lines.map(
      (line) => JSON.parse(line) as { seq: number; name: string; data: unknown },
    );
    expect(events.map((e) => [e.seq, e.name, e.data])).toEqual([
      [1, "tick", "[redacted]"],
      [2, "tick", "[redacted]"],
      [3, "completed", "[redacted]"],
    ]);
  });
});
