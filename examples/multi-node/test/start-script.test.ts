import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describePg, setupPgEnv } from "../../../packages/postgres/test/pg-env";
import { COOKIE, checkReportFrames, type Frame, waitFor } from "./cluster";

// The README's demo, end to end: `start.ts` (three nodes + the balancer), a page-like client that starts a
// report through the balancer, `kill -9` of the node running it, the page-like re-attach, then Ctrl-C.
const env = await setupPgEnv("multinode_start");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const LEASE_MS = 1000;

describePg(env, "examples/multi-node/start.ts", () => {
  const output: string[] = [];
  let script: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  beforeAll(() => {
    const child = spawn(
      process.execPath,
      ["--conditions=@taskwire/source", "--import", "tsx", "examples/multi-node/start.ts"],
      {
        cwd: root,
        env: {
          ...process.env,
          TASKWIRE_PG_URL: env.url,
          TASKWIRE_PG_SCHEMA: env.schema,
          TASKWIRE_LEASE_MS: String(LEASE_MS),
          BASE_PORT: "0",
          BALANCER_PORT: "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, which its nodes inherit: cleanup can kill them even if start.ts died first.
        detached: true,
      },
    );
    script = child;
    exited = new Promise((resolve) => child.once("close", (code) => resolve(code)));
    let buffered = "";
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      output.push(...lines);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
  });
  afterAll(async () => {
    try {
      if (script?.pid) process.kill(-script.pid, "SIGKILL"); // start.ts and every node it spawned
    } catch {
      // the group is already gone
    }
    await exited;
  });
  const find = (pattern: RegExp) => output.map((line) => pattern.exec(line)).find((m) => m !== null);

  it("serves the quickstart through the balancer, survives kill -9 of the running node, stops on Ctrl-C", async () => {
    await waitFor(() => find(/balancer http:\/\/localhost:(\d+)/) !== undefined, 60_000, "start.ts to start");
    const balancer = `http://127.0.0.1:${find(/balancer http:\/\/localhost:(\d+)/)![1]}`;
    const pids = new Map(
      output.flatMap((line) => {
        const m = /^\s+(node-\d)\s+http:\/\/localhost:\d+\s+pid (\d+)/.exec(line);
        return m ? [[m[1]!, Number(m[2])] as const] : [];
      }),
    );
    expect([...pids.keys()]).toEqual(["node-1", "node-2", "node-3"]);

    // Start like the page does: POST /api/reports/generate with Accept: text/event-stream.
    const frames: Frame[] = [];
    const started = await fetch(`${balancer}/api/reports/generate`, {
      method: "POST",
      headers: { cookie: COOKIE, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ chunks: 12, chunkMs: 150 }),
    });
    expect(started.status).toBe(200);
    const runner = started.headers.get("x-taskwire-node")!;
    expect(pids.has(runner)).toBe(true);
    let taskId = "";
    const first = consume(started, frames, (id) => {
      taskId = id;
    });
    await waitFor(() => frames.length >= 3, 15_000, "three progress frames");

    process.kill(pids.get(runner)!, "SIGKILL");
    await first; // the balancer cuts the client's connection when its node dies
    await waitFor(
      () => output.some((l) => l.includes(`[${runner}] exited (SIGKILL)`)),
      5000,
      "the exit line",
    );

    // Re-attach like the page: GET …/events?lastEventId=<last seq> through the balancer (a live node).
    const again = await fetch(`${balancer}/api/tasks/${taskId}/events?lastEventId=${frames.at(-1)!.seq}`, {
      headers: { cookie: COOKIE },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-taskwire-node")).not.toBe(runner);
    await consume(again, frames, () => undefined);
    const tokens = checkReportFrames(frames, 12); // seq 1..13 once each, digest of the streamed tokens
    expect(tokens).toHaveLength(12);
    await waitFor(
      () =>
        output.some((l) => !l.startsWith(`[${runner}]`) && l.includes(`task.run_completed taskId=${taskId}`)),
      5000,
      "another node's completion line",
    );

    script!.kill("SIGINT"); // Ctrl-C
    expect(await exited).toBe(0);
    expect(output.filter((l) => /\[node-\d\] exited \(code 0\)/.test(l))).toHaveLength(2);
  }, 90_000);
});

/** Reads an SSE response into `frames` (WAL events only), reporting the task id from the `ready` frame. */
async function consume(response: Response, frames: Frame[], onTaskId: (id: string) => void): Promise<void> {
  const parser = createParser({
    onEvent: (event) => {
      const data = JSON.parse(event.data) as Record<string, unknown>;
      if (event.event === "ready") onTaskId(String(data.taskId));
      else if (event.event !== "interrupted") {
        frames.push({ seq: Number(event.id), name: event.event ?? "message", data, receivedAt: Date.now() });
      }
    },
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  } catch {
    // cut when the node died
  }
}
