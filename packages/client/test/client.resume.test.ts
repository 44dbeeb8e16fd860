import { createTaskClient, type InterruptedInfo, type TaskEventOf } from "@taskwire/client";
import { createTaskwireApp } from "@taskwire/express";
import { pino } from "pino";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  alice,
  allow,
  type blobTask,
  listen,
  newKey,
  pacedServer,
  type pacedTask,
  recordingFetch,
} from "./helpers";

type Paced = typeof pacedTask;

describe("automatic resume", () => {
  it("resumes after the server destroys the connection mid-stream: every seq exactly once, in order", async () => {
    const { http } = await pacedServer(onTestFinished);
    const recorder = recordingFetch();
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice, fetch: recorder.fetch });
    const key = newKey();
    const { taskId } = await client.start<Paced>("client.paced", { key, ticks: 6 });
    const reconnects: Array<[number, number]> = [];
    const sub = client.subscribe(taskId, {
      onReconnect: (attempt, lastSeq) => reconnects.push([attempt, lastSeq]),
      reconnect: { maxDelayMs: 50 },
    });
    allow(key, 2);
    const seqs: number[] = [];
    let dropped = false;
    for await (const event of sub) {
      seqs.push(event.seq);
      if (event.seq === 2 && !dropped) {
        dropped = true;
        http.dropConnections(); // mid-stream, from the server side
        allow(key, 6); // the rest is produced while the client is away
      }
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(reconnects).toEqual([[1, 2]]);
    const streams = recorder.requests.filter((r) => r.url.endsWith("/events"));
    expect(streams.map((r) => r.lastEventId)).toEqual(["0", "2"]);
    await expect(sub.result).resolves.toEqual({ ticks: 6, total: String(2n ** 64n), user: "alice" });
  });

  it("resumes after an `interrupted` frame (node A shuts down), retries the 503, and continues on node B", async () => {
    const { taskflow, tw: nodeA, http: a } = await pacedServer(onTestFinished);
    // A second node on the same taskflow: what a load balancer would send the reconnect to.
    const nodeB = await createTaskwireApp({
      taskflow,
      logger: pino({ level: "silent" }),
      sse: { retryMs: 10 },
    });
    const b = await listen(nodeB.app, onTestFinished);
    onTestFinished(() => nodeB.bridge.close());
    let routeToB = false;
    let reconnectsAfterClose = 0;
    const recorder = recordingFetch((url) => (routeToB ? url.replace(a.base, b.base) : url));
    const client = createTaskClient({ baseUrl: `${a.base}/api`, headers: alice, fetch: recorder.fetch });
    const key = newKey();
    const { taskId } = await client.start<Paced>("client.paced", { key, ticks: 4 });
    const interrupted: InterruptedInfo[] = [];
    const sub = client.subscribe(taskId, {
      onInterrupted: (info) => interrupted.push(info),
      onReconnect: () => {
        // The first reconnect still reaches A (503 while it closes); the next one goes to B.
        if (nodeA.bridge.closing && ++reconnectsAfterClose === 2) routeToB = true;
      },
      reconnect: { maxDelayMs: 20 }, // also caps A's Retry-After: 1
    });
    allow(key, 2);
    const seqs: number[] = [];
    for await (const event of sub) {
      seqs.push(event.seq);
      if (event.seq === 2 && !nodeA.bridge.closing) {
        await nodeA.bridge.close(); // ends A's streams with `interrupted` server_shutting_down
        allow(key, 4);
      }
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(interrupted).toEqual([{ code: "server_shutting_down", message: expect.any(String), seq: 2 }]);
    const streams = recorder.requests.filter((r) => r.url.endsWith("/events"));
    expect(streams.map((r) => [new URL(r.url).origin, r.lastEventId])).toEqual([
      [a.base, "0"],
      [a.base, "2"],
      [b.base, "2"],
    ]);
    expect(recorder.statuses.slice(-2)).toEqual([503, 200]);
    expect((await sub.result).ticks).toBe(4);
  });

  it("never yields a duplicate or skips a seq: a gap on the wire reconnects from the last seq", async () => {
    const frame = (id: number, event: string, data: unknown) =>
      `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const bodies = [
      // 1, then a gap (3): the client must not yield 3, but reconnect after 1.
      `retry: 1\n${frame(0, "ready", { taskId: "t1", task: "x", status: "running" })}${frame(1, "tick", { i: 1 })}${frame(3, "tick", { i: 3 })}`,
      // A replay overlapping what was seen (1 again) is skipped.
      `${frame(1, "ready", { taskId: "t1", task: "x", status: "running" })}${frame(1, "tick", { i: 1 })}${frame(2, "tick", { i: 2 })}${frame(3, "tick", { i: 3 })}${frame(4, "completed", { result: { ok: true } })}`,
    ];
    const lastEventIds: Array<string | null> = [];
    const fakeFetch: typeof fetch = async (_url, init) => {
      lastEventIds.push(new Headers(init?.headers).get("Last-Event-ID"));
      return new Response(bodies.shift() ?? "", { headers: { "Content-Type": "text/event-stream" } });
    };
    const client = createTaskClient({ baseUrl: "http://fake/api", fetch: fakeFetch });
    const sub = client.subscribe("t1", { reconnect: { maxDelayMs: 5 } });
    const seqs: number[] = [];
    for await (const event of sub) seqs.push(event.seq);
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(lastEventIds).toEqual(["0", "1"]);
    await expect(sub.result).resolves.toEqual({ ok: true });
  });

  it("delivers BigInt and Date values as the strings the wire carries", async () => {
    const { http } = await pacedServer(onTestFinished);
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    allow(key, 1);
    const events: TaskEventOf<Paced>[] = [];
    const result = await client.run<Paced>(
      "client.paced",
      { key, ticks: 1 },
      { onEvent: (e) => events.push(e) },
    );
    const tick = events[0];
    expect(tick?.name).toBe("tick");
    if (tick?.name === "tick")
      expect(tick.data).toEqual({ i: 1, big: "18446744073709551617", at: new Date(1000).toISOString() });
    expect(result.total).toBe("18446744073709551616");
  });
});

describe("retry policy", () => {
  it("retries a 503 and a 429 after their Retry-After, then streams", async () => {
    const frame = (id: number, event: string, data: unknown) =>
      `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const error = (code: string) => JSON.stringify({ error: { code, message: code } });
    const responses = [
      () => new Response(error("SHUTTING_DOWN"), { status: 503, headers: { "Retry-After": "1" } }),
      () => new Response(error("BACKPRESSURE"), { status: 429, headers: { "Retry-After": "0" } }),
      () =>
        new Response(`${frame(0, "ready", { taskId: "t1" })}${frame(1, "completed", { result: 7 })}`, {
          headers: { "Content-Type": "text/event-stream; charset=utf-8" },
        }),
    ];
    const sentAt: number[] = [];
    const fakeFetch: typeof fetch = async () => {
      sentAt.push(Date.now());
      return responses.shift()!();
    };
    const client = createTaskClient({ baseUrl: "http://fake/api", fetch: fakeFetch });
    const sub = client.subscribe("t1", { reconnect: { initialDelayMs: 1 } });
    await expect(sub.result).resolves.toBe(7);
    expect(sentAt).toHaveLength(3);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(990); // Retry-After: 1 beats the 1 ms backoff
  });

  it("a slow iterator makes the server interrupt (slow_consumer); the client resumes and loses nothing", async () => {
    const { http, tw } = await pacedServer(onTestFinished, {
      sse: { retryMs: 10, maxBufferedBytes: 64 * 1024, drainTimeoutMs: 500 },
    });
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const count = 3000; // 3000 x 4 KiB = 12 MiB: more than loopback socket buffers hold
    const { taskId } = await client.start<typeof blobTask>("client.blob", { count, size: 4096 });
    let reconnects = 0;
    const interrupted: string[] = [];
    const sub = client.subscribe(taskId, {
      onReconnect: () => reconnects++,
      onInterrupted: (info) => interrupted.push(info.code),
    });
    let expected = 1;
    for await (const event of sub) {
      if (event.seq !== expected) throw new Error(`seq ${event.seq} after ${expected - 1}`);
      expected++;
      // Hold the first event until the server gave up on us: the queue fills, reading stops, TCP pushes back.
      if (event.seq === 1)
        await vi.waitFor(
          () => expect(tw.bridge.stats().openStreams, "the server to interrupt the stream").toBe(0),
          { timeout: 10_000, interval: 5 },
        );
    }
    expect(expected - 1).toBe(count + 1);
    await expect(sub.result).resolves.toEqual({ count });
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(interrupted[0]).toBe("slow_consumer");
  });
});
