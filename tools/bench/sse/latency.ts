import type { AddressInfo } from "node:net";
import type { Taskflow } from "@taskwire/core";
import { createTaskwireApp } from "@taskwire/express";
import { createParser } from "eventsource-parser";
import { noop3 } from "../noop3";
import { type Latency, timeEach } from "../stats";

/** A listening in-process Taskwire app (task router at /api) with a trivial `GET /ping` beside it. */
export interface BenchServer {
  url: string;
  close(): Promise<void>;
}

/** Mounts `createTaskwireApp` for `taskflow` (which must have `noop3` registered) on a free port. */
export async function startBenchServer(taskflow: Taskflow): Promise<BenchServer> {
  const tw = await createTaskwireApp({ taskflow, basePath: "/api", sse: { heartbeatMs: 60_000 } });
  tw.app.get("/ping", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  const server = tw.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const HEADERS = { "x-forwarded-user": "bench", "content-type": "application/json" };

/**
 * Start → `completed` over SSE: `POST /api/tasks/bench.noop3` with `Accept: text/event-stream` (the
 * response is the task's stream), parsed with eventsource-parser until the `completed` frame; timed from
 * the request to that frame. `samples` in sequence.
 */
export function sseLatency(server: { url: string }, samples: number): Promise<Latency> {
  return timeEach(samples, async (i) => {
    const response = await fetch(`${server.url}/api/tasks/${noop3.name}`, {
      method: "POST",
      headers: { ...HEADERS, accept: "text/event-stream" },
      body: JSON.stringify({ i }),
    });
    if (response.status !== 200 || !response.body) throw new Error(`start answered ${response.status}`);
    let completed = false;
    const parser = createParser({
      onEvent: (event) => {
        if (event.event === "completed") completed = true;
        else if (event.event === "failed" || event.event === "cancelled" || event.event === "interrupted") {
          throw new Error(`stream ended with ${event.event}: ${event.data}`);
        }
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    while (!completed) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    if (!completed) throw new Error("stream ended without a completed frame");
    await reader.cancel().catch(() => undefined);
  });
}

/** The HTTP floor: `GET /ping` on the same server and client, `samples` in sequence. */
export function httpFloor(server: { url: string }, samples: number): Promise<Latency> {
  return timeEach(samples, async () => {
    const response = await fetch(`${server.url}/ping`, { headers: HEADERS });
    await response.text();
  });
}
