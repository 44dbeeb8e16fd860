import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { EventSource } from "eventsource";
import { expect, it, vi } from "vitest";
import {
  COOKIE,
  checkReportFrames,
  type Frame,
  readStream,
  settledOn,
  startReport,
  taskLogs,
  useCluster,
} from "./cluster";

// A short lease so a dead node's task is reclaimed quickly; heartbeats run every LEASE_MS / 3.
const env = await setupPgEnv("multinode_failover");
const LEASE_MS = 1000;
const nodes = useCluster(env, { nodes: 3, leaseMs: LEASE_MS });

describePg(env, "SIGKILL of the node running a task", () => {
  it("the task resumes on another node after its lease; streams continue without gap or duplicate", async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const chunks = 16;
    const chunkMs = 150;
    const taskId = await startReport(a, { chunks, chunkMs });

    // Client 1 reads node B the whole time.
    const steady = await readStream(b, taskId);
    // Client 2 is a real EventSource on node A; once A is dead, its fetch sends the reconnect to B.
    let aDead = false;
    const requests: Array<{ host: string; lastEventId: string | null }> = [];
    const moving: Frame[] = [];
    let opens = 0;
    const source = new EventSource(`${a.url}/api/tasks/${taskId}/events`, {
      fetch: (input, init) => {
        const url = new URL(String(input));
        if (aDead) url.port = String(b.port);
        const headers = new Headers(init?.headers);
        headers.set("cookie", COOKIE);
        requests.push({ host: url.host, lastEventId: headers.get("last-event-id") });
        return fetch(url, { ...init, headers });
      },
    });
    source.onopen = () => {
      opens++;
    };
    let movingDone = false;
    for (const name of ["progress", "completed", "failed", "cancelled"]) {
      source.addEventListener(name, (event) => {
        moving.push({
          seq: Number(event.lastEventId),
          name,
          data: JSON.parse(event.data),
          receivedAt: Date.now(),
        });
        if (name !== "progress") {
          movingDone = true;
          source.close();
        }
      });
    }

    try {
      await vi.waitFor(
        () => {
          expect(steady.frames.length, "progress frames on B").toBeGreaterThanOrEqual(4);
          expect(moving.length, "progress frames of the moving client").toBeGreaterThanOrEqual(4);
        },
        { timeout: 15_000, interval: 5 },
      );
      const killedAt = Date.now();
      expect((await a.kill()).signal).toBe("SIGKILL");
      aDead = true;
      // A is dead: nothing more can commit until another node reclaims the task.
      const [killed] = await env.query<{ last_seq: string }>(
        `SELECT last_seq FROM ${env.schema}.tasks WHERE id = $1`,
        [taskId],
      );
      const atKill = Number(killed!.last_seq);
      await steady.ended;
      await vi.waitFor(() => expect(movingDone, "the moving client's terminal event").toBe(true), {
        timeout: 20_000,
        interval: 5,
      });

      // Both clients: seq 1..17 exactly once, done 1..16, completed, digest = sha256(streamed tokens).
      const tokens = checkReportFrames(steady.frames, chunks);
      expect(checkReportFrames(moving, chunks)).toEqual(tokens);
      expect(opens).toBeGreaterThanOrEqual(2); // client 2 really reconnected…
      const resumed = requests.filter((r) => r.host === `127.0.0.1:${b.port}`);
      expect(Number(resumed[0]?.lastEventId)).toBeGreaterThanOrEqual(4); // …to B, with Last-Event-ID

      // Another node finished it: claims 2 (A's, then the reclaim).
      const runner = await settledOn(nodes, taskId);
      expect(runner).toHaveLength(1);
      expect(runner[0]).not.toBe(a.name);
      const [task] = await env.query<{ status: string; claims: number }>(
        `SELECT status, claims FROM ${env.schema}.tasks WHERE id = $1`,
        [taskId],
      );
      expect(task).toEqual({ status: "completed", claims: 2 });

      // No completed step ran again: one checkpoint per chunk, each holding the token that was streamed,
      // and across both nodes' logs every step key was completed exactly once.
      const steps = await env.query<{ position: number; key: string; output: string }>(
        `SELECT position, key, output FROM ${env.schema}.steps WHERE task_id = $1 ORDER BY position`,
        [taskId],
      );
      expect(steps.map((s) => s.key)).toEqual(tokens.map((_, i) => `renderChunk#${i}`));
      expect(steps.map((s) => JSON.parse(s.output))).toEqual(tokens);
      const executed = nodes.flatMap((node) =>
        taskLogs(node, taskId, "task.step_completed").map((l) => l.step),
      );
      expect(executed.sort()).toEqual(steps.map((s) => s.key).sort());
      const onA = taskLogs(a, taskId, "task.step_completed").length;
      expect(onA).toBeGreaterThanOrEqual(4);
      expect(onA).toBeLessThan(chunks);

      // Recovery: from the kill to the first event the new runner produced (seq atKill + 1) on B's stream.
      const next = steady.frames.find((f) => f.seq === atKill + 1)!;
      const recoveryMs = next.receivedAt - killedAt;
      console.info(
        `[multi-node] SIGKILL → next progress on B: ${recoveryMs} ms (lease ${LEASE_MS} ms, chunk ${chunkMs} ms, ` +
          `worker poll 250 ms; resumed on ${runner[0]} after ${onA} checkpoints)`,
      );
      // Bounded by the lease left after A's last heartbeat + a claim poll + one chunk, with slack for CI.
      expect(recoveryMs).toBeLessThan(LEASE_MS + 250 + chunkMs + 2000);
    } finally {
      source.close();
      steady.close();
    }
  }, 60_000);
});
