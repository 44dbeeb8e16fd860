import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTaskClient } from "@taskwire/client";
import { formatSseFrame } from "@taskwire/express";
import { describe, expect, it, onTestFinished } from "vitest";

/** A server that speaks the SSE contract by hand, so a test can make a connection go silent. */
async function scriptedServer(
  handle: (res: ServerResponse, lastEventId: string, connection: number) => void,
) {
  const lastEventIds: string[] = [];
  const server = createServer((req, res) => {
    lastEventIds.push(String(req.headers["last-event-id"] ?? ""));
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" });
    res.write(":\n\n");
    handle(res, lastEventIds.at(-1)!, lastEventIds.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, lastEventIds };
}

const frame = (id: number, event: string, data: unknown) => formatSseFrame({ id, event, data });
const ready = (id: number) => frame(id, "ready", { taskId: "t1", task: "x", status: "running" });

describe("idle connections", () => {
  it("reconnects from the last seq when a connection goes silent without closing", async () => {
    const { base, lastEventIds } = await scriptedServer((res, lastEventId) => {
      if (lastEventId === "0") {
        res.write(ready(0) + frame(1, "tick", { n: 1 })); // …then nothing, and the socket stays open
        return;
      }
      res.end(ready(1) + frame(2, "tick", { n: 2 }) + frame(3, "completed", { result: { ok: true } }));
    });
    const client = createTaskClient({ baseUrl: base });
    const seen: number[] = [];
    const sub = client.subscribe("t1", { idleTimeoutMs: 150, reconnect: { initialDelayMs: 10 } });
    for await (const event of sub) seen.push(event.seq);
    expect(seen).toEqual([1, 2, 3]);
    expect(lastEventIds).toEqual(["0", "1"]);
    expect(await sub.result).toEqual({ ok: true });
  });

  it("keeps a quiet connection whose heartbeats keep arriving", async () => {
    const { base, lastEventIds } = await scriptedServer((res) => {
      res.write(ready(0));
      const beat = setInterval(() => res.write(": heartbeat\n\n"), 40);
      setTimeout(() => {
        clearInterval(beat);
        res.end(frame(1, "completed", { result: { ok: true } }));
      }, 500);
    });
    const client = createTaskClient({ baseUrl: base });
    const sub = client.subscribe("t1", { idleTimeoutMs: 150, reconnect: { initialDelayMs: 10 } });
    expect(await sub.result).toEqual({ ok: true });
    expect(lastEventIds).toEqual(["0"]); // one connection: no spurious reconnect
  });

  it('reads ids only in the server\'s canonical form, so a frame with id "1e0" or "" is not event 1', async () => {
    const { base } = await scriptedServer((res) => {
      // Hand-written on purpose: formatSseFrame refuses to write these ids.
      const stray = (id: string) => `id: ${id}\nevent: tick\ndata: {"n":"stray ${id}"}\n\n`;
      res.end(
        ready(0) +
          stray("1e0") +
          stray("") +
          stray("01") +
          frame(1, "tick", { n: 1 }) +
          frame(2, "completed", { result: { ok: true } }),
      );
    });
    const client = createTaskClient({ baseUrl: base });
    const data: unknown[] = [];
    for await (const event of client.subscribe("t1", { reconnect: { initialDelayMs: 10 } }))
      data.push(event.data);
    expect(data).toEqual([{ n: 1 }, { result: { ok: true } }]);
  });
});
