import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { expect, it, vi } from "vitest";
import { api, checkReportFrames, readStream, settledOn, startReport, taskLogs, useCluster } from "./cluster";

// Three quickstart servers (real child processes) on one PostgreSQL schema. The lease is long (heartbeat
// every 10 s), so anything that crosses nodes faster than that went through LISTEN/NOTIFY.
const env = await setupPgEnv("multinode_cluster");
const LEASE_MS = 30_000;
const nodes = useCluster(env, { nodes: 3, leaseMs: LEASE_MS });

describePg(env, "three quickstart nodes on one PostgreSQL database", () => {
  it("share the work: reports started across the nodes all complete, each run by exactly one node", async () => {
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => startReport(nodes[i % 3]!, { chunks: 4, chunkMs: 40 })),
    );
    await vi.waitFor(
      async () => {
        const rows = await env.query(
          `SELECT 1 FROM ${env.schema}.tasks WHERE id = ANY($1) AND status = 'completed'`,
          [ids],
        );
        expect(rows, "completed reports").toHaveLength(ids.length);
      },
      { timeout: 20_000, interval: 10 },
    );
    const runners = await Promise.all(ids.map((id) => settledOn(nodes, id)));
    for (const ran of runners) expect(ran).toHaveLength(1); // never settled twice, never by two nodes
    expect(new Set(runners.flat()).size).toBeGreaterThan(1);
    const rows = await env.query<{ claims: number; last_seq: string; steps: string }>(
      `SELECT t.claims, t.last_seq, (SELECT count(*) FROM ${env.schema}.steps s WHERE s.task_id = t.id) AS steps
         FROM ${env.schema}.tasks t WHERE t.id = ANY($1)`,
      [ids],
    );
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(row).toEqual({ claims: 1, last_seq: "5", steps: "4" });
  });

  it("an SSE client on node B receives, live and in order, the events of a task running on node A", async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const chunks = 8;
    const chunkMs = 150;
    const taskId = await startReport(a, { chunks, chunkMs });
    const stream = await readStream(b, taskId);
    await vi.waitFor(() => expect(stream.frames, "progress frames on B").not.toHaveLength(0), {
      timeout: 10_000,
      interval: 5,
    });
    // Live, not replayed at the end: when B delivered the first event, the task was still running.
    const snapshot = (await (await api(b, `/api/tasks/${taskId}`)).json()) as {
      status: string;
      lastSeq: number;
    };
    expect(snapshot.status).toBe("running");
    expect(snapshot.lastSeq).toBeLessThan(chunks + 1);
    await stream.ended;

    expect(stream.control.map((f) => [f.name, f.seq])).toEqual([["ready", 0]]);
    checkReportFrames(stream.frames, chunks);
    expect(await settledOn(nodes, taskId)).toEqual([a.name]);
    expect(taskLogs(b, taskId, "task.step_completed")).toHaveLength(0); // B only streamed it
    const spread = stream.frames.at(-1)!.receivedAt - stream.frames[0]!.receivedAt;
    expect(spread).toBeGreaterThan((chunks - 1) * chunkMs * 0.8);

    // How long after A emitted an event did B's client have it (same machine, same clock)?
    const rows = await env.query<{ seq: string; at: string }>(
      `SELECT seq, at FROM ${env.schema}.events WHERE task_id = $1 ORDER BY seq`,
      [taskId],
    );
    const lags = stream.frames.map((f, i) => f.receivedAt - Number(rows[i]!.at)).sort((x, y) => x - y);
    console.info(
      `[multi-node] A→B live delivery, emit to client receipt: p50 ${lags[lags.length >> 1]} ms, max ${lags.at(-1)} ms`,
    );
    expect(lags.at(-1)).toBeLessThan(1000);
    // NOTIFY-driven: without it the store's 1 s fallback poll (or the subscriber's 1 s re-read) would still
    // deliver every event, but half of them hundreds of ms late.
    expect(lags[lags.length >> 1]).toBeLessThan(250);
  });

  it("a cancel sent to node C stops the handler on node A within a second", async () => {
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];
    const taskId = await startReport(a, { chunks: 100, chunkMs: 200 });
    const stream = await readStream(b, taskId);
    await vi.waitFor(() => expect(stream.frames.length, "progress frames").toBeGreaterThanOrEqual(2), {
      timeout: 15_000,
      interval: 5,
    });
    const response = await api(c, `/api/tasks/${taskId}/cancel`, { method: "POST" });
    const returnedAt = Date.now();
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ taskId, outcome: "requested", status: "running" });
    await stream.ended;

    const terminal = stream.frames.at(-1)!;
    expect(terminal.name).toBe("cancelled");
    const stopMs = terminal.receivedAt - returnedAt;
    console.info(`[multi-node] cancel on C → cancelled frame (run on A, streamed by B): ${stopMs} ms`);
    expect(stopMs).toBeLessThan(1000); // A's heartbeat is every 10 s: this was the cancel doorbell
    expect(stream.frames.map((f) => f.seq)).toEqual(stream.frames.map((_, i) => i + 1));
    expect(stream.frames.length).toBeLessThan(100);
    expect(await settledOn(nodes, taskId)).toEqual([a.name]);
    await vi.waitFor(
      () => expect(taskLogs(c, taskId, "task.cancel_requested"), "C's cancel log").toHaveLength(1),
      {
        timeout: 5000,
        interval: 5,
      },
    );
    // The handler really stopped: no step is recorded after the cancelled event.
    const count = async () =>
      Number(
        (await env.query(`SELECT count(*) AS n FROM ${env.schema}.steps WHERE task_id = $1`, [taskId]))[0]!.n,
      );
    // A logs run_cancelled once the run has settled: from then on its handler can write nothing.
    await vi.waitFor(
      () => expect(taskLogs(a, taskId, "task.run_cancelled"), "A's run cancelled").toHaveLength(1),
      {
        timeout: 5000,
        interval: 5,
      },
    );
    const progress = stream.frames.filter((f) => f.name === "progress").length;
    expect(await count()).toBeLessThanOrEqual(progress + 1); // at most the chunk in flight at the cancel
  });
});
