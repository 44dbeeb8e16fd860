import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { runInUserContext, type Taskflow } from "@taskwire/core";
import { parseSSEResponse, SSECollector, type SSEParseResult } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, blobTask, makeHarness } from "../../test/helpers";
import { streamTaskEvents } from "./stream-task-events";

// ~12 MB in total: more than the kernel's socket buffers (a few MB on loopback) can hide.
const COUNT = 12_000;
const SIZE = 1024;

async function completedBlobTask(taskflow: Taskflow, count = COUNT, size = SIZE) {
  const { taskId } = await runInUserContext({ userId: "alice" }, () =>
    taskflow.start(blobTask, { count, size }),
  );
  for await (const _ of taskflow.subscribe(taskId)) {
    // drain to the terminal event
  }
  return taskId;
}

/**
 * A raw HTTP client that stops reading right after the response head (its socket is paused, so TCP
 * back-pressure reaches the server), and reads everything once `resume()` is called.
 */
function pausedClient(url: string, headers: Record<string, string>) {
  let resumeReading!: () => void;
  const resumed = new Promise<void>((resolve) => {
    resumeReading = resolve;
  });
  const result = new Promise<SSEParseResult>((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: "text/event-stream", ...headers } }, (res) => {
      res.pause();
      const collector = new SSECollector();
      void resumed.then(() => {
        res.on("data", (chunk: Buffer) => collector.feed(new Uint8Array(chunk)));
        // A destroyed socket still yields what arrived; an incomplete tail frame is simply not parsed.
        const done = () => resolve(collector.result);
        res.on("end", done);
        res.on("close", done);
        res.on("error", done);
        res.resume();
      });
    });
    req.on("error", reject);
  });
  return { resume: () => resumeReading(), result };
}

/** Reconnects with Last-Event-ID until the terminal frame, as a browser would. */
async function resumeUntilDone(base: string, taskId: string, lastId: string) {
  const connections: SSEParseResult[] = [];
  let cursor = lastId;
  for (let i = 0; i < 10; i++) {
    const sse = await parseSSEResponse(
      request(base).get(`/api/tasks/${taskId}/events`).set(alice).set("Last-Event-ID", cursor),
    );
    expect(sse.frames[0]).toMatchObject({ event: "ready", id: cursor });
    expect(sse.violations).toEqual([]);
    connections.push(sse);
    const tail = sse.frames.at(-1);
    if (tail?.event === "completed") return connections;
    expect(tail).toMatchObject({ event: "interrupted", data: { code: "slow_consumer" } });
    expect(Number(tail?.id)).toBeGreaterThan(Number(cursor)); // progress on every connection
    cursor = String(tail?.id);
  }
  throw new Error("no terminal frame after 10 reconnects");
}

function expectExactlyOnce(connections: SSEParseResult[], lastSeq: number) {
  const seqs = connections
    .flatMap((c) => c.frames)
    .filter((f) => f.event === "blob" || f.event === "completed")
    .map((f) => Number(f.id));
  expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
}

describe("slow consumers", () => {
  it("are interrupted past maxBufferedBytes with id = last delivered seq, and resume losslessly from the WAL", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const taskId = await completedBlobTask(h.taskflow);
    // The paused connection goes through streamTaskEvents with a tiny cap (below the socket's
    // high-water mark, so only the cap can end it quickly: the drain timeout is 10 s).
    const small = http.createServer((req, res) => {
      void runInUserContext({ userId: "alice" }, () =>
        streamTaskEvents(req, res, h.taskflow, taskId, {
          maxBufferedBytes: 8 * 1024,
          drainTimeoutMs: 10_000,
          logger: h.log.logger,
        }),
      );
    });
    small.listen(0, "127.0.0.1");
    await once(small, "listening");
    onTestFinished(() => {
      small.closeAllConnections();
      small.close();
    });
    const client = pausedClient(`http://127.0.0.1:${(small.address() as AddressInfo).port}/`, {});
    const interrupted = await h.log.waitFor("sse.stream_interrupted", { taskId }, 5000);
    expect(interrupted.code).toBe("slow_consumer");
    client.resume();
    const first = await client.result;

    const frames = first.frames;
    expect(frames[0]?.event).toBe("ready");
    const last = frames.at(-1);
    expect(last?.event).toBe("interrupted");
    expect(last?.data).toEqual({ code: "slow_consumer", message: expect.any(String) });
    const delivered = frames.filter((f) => f.event === "blob");
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length).toBeLessThan(COUNT);
    expect(last?.id).toBe(delivered.at(-1)?.id); // the last delivered seq
    expect(Number(last?.id)).toBe(interrupted.lastSeq);
    expect(first.violations).toEqual([]);

    // The app (default 1 MiB cap) replays the rest to a reader that keeps up in one connection.
    const rest = await resumeUntilDone(base, taskId, String(last?.id));
    expect(rest).toHaveLength(1);
    expectExactlyOnce([first, ...rest], COUNT + 1);
  });

  it("are interrupted when a full buffer does not drain within drainTimeoutMs", async () => {
    const h = await makeHarness(onTestFinished, {
      sse: { maxBufferedBytes: 1024 * 1024 * 1024, drainTimeoutMs: 300 },
    });
    const base = await h.listen();
    const taskId = await completedBlobTask(h.taskflow);
    const client = pausedClient(`${base}/api/tasks/${taskId}/events`, alice);
    const interrupted = await h.log.waitFor("sse.stream_interrupted", { taskId }, 5000);
    expect(interrupted.code).toBe("slow_consumer");
    client.resume();
    const first = await client.result;
    // The final frame may be cut off if the socket was destroyed first; what arrived is a clean prefix.
    const blobs = first.frames.filter((f) => f.event === "blob");
    const lastBlob = Number(blobs.at(-1)?.id ?? 0);
    const tail = first.frames.at(-1);
    if (tail?.event === "interrupted") expect(Number(tail.id)).toBe(lastBlob);
    expect(lastBlob).toBeLessThan(COUNT);

    const rest = await resumeUntilDone(base, taskId, String(lastBlob));
    expect(rest).toHaveLength(1); // the cap is far away: a reader that keeps up is never interrupted
    expectExactlyOnce([first, ...rest], COUNT + 1);
  });

  it("still delivers a single frame larger than the cap to a client that keeps reading", async () => {
    const h = await makeHarness(onTestFinished, {
      sse: { maxBufferedBytes: 4 * 1024, drainTimeoutMs: 5000 },
    });
    const taskId = await completedBlobTask(h.taskflow, 4, 512 * 1024);
    const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
    expect(sse.frames.map((f) => f.event)).toEqual(["ready", "blob", "blob", "blob", "blob", "completed"]);
    expect(h.log.find("sse.stream_interrupted")).toHaveLength(0);
  });
});
