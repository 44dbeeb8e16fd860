import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSSE, type SSEFrame } from "@taskwire/testing";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { type ServerProcess, spawnServer } from "@taskwire/testing/process";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { COOKIE, checkReportFrames, type Frame } from "./cluster";

// The README's demo, end to end: `start.ts` (three nodes + the balancer), a page-like client that starts a
// report through the balancer, `kill -9` of the node running it, the page-like re-attach, then Ctrl-C.
const env = await setupPgEnv("multinode_start");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const LEASE_MS = 1000;

describePg(env, "examples/multi-node/start.ts", () => {
  let script: ServerProcess | undefined;
  beforeAll(() => {
    script = spawnServer({
      name: "start.ts",
      cwd: root,
      args: ["--conditions=@taskwire/source", "--import", "tsx", "examples/multi-node/start.ts"],
      env: {
        TASKWIRE_PG_URL: env.url,
        TASKWIRE_PG_SCHEMA: env.schema,
        TASKWIRE_LEASE_MS: String(LEASE_MS),
        BASE_PORT: "0",
        BALANCER_PORT: "0",
      },
      // "Listening" once it prints the balancer's address (after every node listens).
      listening: (line) => {
        const match = /balancer http:\/\/localhost:(\d+)/.exec(line);
        return match ? Number(match[1]) : undefined;
      },
      // Its own process group, which its nodes inherit: cleanup can kill them even if start.ts died first.
      detached: true,
    });
  });
  afterAll(async () => {
    try {
      if (script?.child.pid) process.kill(-script.child.pid, "SIGKILL"); // start.ts and every node it spawned
    } catch {
      // the group is already gone
    }
    await script?.exited;
  });

  it("serves the quickstart through the balancer, survives kill -9 of the running node, stops on Ctrl-C", async () => {
    const output = script!.lines;
    const balancer = `http://127.0.0.1:${await script!.ready}`;
    const pids = new Map(
      output.flatMap((line) => {
        const m = /^\s+(node-\d)\s+http:\/\/localhost:\d+\s+pid (\d+)/.exec(line);
        return m ? [[m[1]!, Number(m[2])] as const] : [];
      }),
    );
    expect([...pids.keys()]).toEqual(["node-1", "node-2", "node-3"]);

    // Start like the page does: POST /api/reports/generate with Accept: text/event-stream.
    const frames: Frame[] = [];
    let taskId = "";
    const record = (frame: SSEFrame) => {
      if (frame.event === "ready") taskId = String((frame.data as { taskId: string }).taskId);
      else if (frame.event !== "interrupted") {
        const data = frame.data as Record<string, unknown>;
        frames.push({ seq: Number(frame.id), name: frame.event ?? "message", data, receivedAt: Date.now() });
      }
    };
    const first = await openSSE(`${balancer}/api/reports/generate`, {
      method: "POST",
      headers: { cookie: COOKIE, "content-type": "application/json" },
      body: JSON.stringify({ chunks: 12, chunkMs: 150 }),
      onFrame: record,
    });
    expect(first.status).toBe(200);
    const runner = first.headers.get("x-taskwire-node")!;
    expect(pids.has(runner)).toBe(true);
    await first.waitForFrame(
      (f) => f.event === "progress" && (f.data as { done: number }).done === 3,
      15_000,
    );

    process.kill(pids.get(runner)!, "SIGKILL");
    await first.ended; // the balancer cuts the client's connection when its node dies
    await vi.waitFor(
      () =>
        expect(output, "the exit line").toContainEqual(
          expect.stringContaining(`[${runner}] exited (SIGKILL)`),
        ),
      { timeout: 5000, interval: 5 },
    );

    // Re-attach like the page: GET …/events?lastEventId=<last seq> through the balancer (a live node).
    const again = await openSSE(`${balancer}/api/tasks/${taskId}/events?lastEventId=${frames.at(-1)!.seq}`, {
      headers: { cookie: COOKIE },
      onFrame: record,
    });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-taskwire-node")).not.toBe(runner);
    await again.ended;
    const tokens = checkReportFrames(frames, 12); // seq 1..13 once each, digest of the streamed tokens
    expect(tokens).toHaveLength(12);
    await vi.waitFor(
      () =>
        expect(
          output.some(
            (l) => !l.startsWith(`[${runner}]`) && l.includes(`task.run_completed taskId=${taskId}`),
          ),
          "another node's completion line",
        ).toBe(true),
      { timeout: 5000, interval: 5 },
    );

    script!.child.kill("SIGINT"); // Ctrl-C
    expect((await script!.exited).code).toBe(0);
    expect(output.filter((l) => /\[node-\d\] exited \(code 0\)/.test(l))).toHaveLength(2);
  }, 90_000);
});
