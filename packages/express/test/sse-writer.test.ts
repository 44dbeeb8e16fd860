import type { IncomingMessage, ServerResponse } from "node:http";
import { formatSseFrame, setupSseHeaders, writeSseComment, writeSseFrame } from "@taskwire/express";
import { parseSSEResponse, SSECollector } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it } from "vitest";

/** Parses formatted text the way a client would. */
function parse(text: string) {
  const collector = new SSECollector();
  collector.feed(text);
  return collector.end();
}

describe("setupSseHeaders", () => {
  it("sends exactly the spec headers and flushes them with an initial comment", async () => {
    let writesAtOpen = 0;
    const handler = (_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader("Vary", "Accept-Encoding");
      setupSseHeaders(res);
      writesAtOpen = res.headersSent ? 1 : 0;
      res.end();
    };
    const sse = await parseSSEResponse(request(handler).get("/"));
    expect(sse.status).toBe(200);
    expect(sse.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(sse.headers["cache-control"]).toBe("no-cache, no-store, no-transform");
    expect(sse.headers["x-accel-buffering"]).toBe("no");
    expect(sse.headers.vary).toBe("Accept-Encoding, Origin");
    expect(sse.headers["content-length"]).toBeUndefined();
    expect(writesAtOpen).toBe(1); // headers went out at once, with the comment
    expect(sse.comments).toEqual(["ok"]);
    expect(sse.frames).toEqual([]);
    expect(sse.violations).toEqual([]);
  });

  it("adds Vary: Origin once and refuses a response whose headers are already sent", async () => {
    const handler = (_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader("Vary", "origin");
      setupSseHeaders(res);
      expect(() => setupSseHeaders(res)).toThrow(/already sent/);
      res.end();
    };
    const sse = await parseSSEResponse(request(handler).get("/"));
    expect(sse.headers.vary).toBe("origin");
  });
});

describe("writeSseFrame", () => {
  it("writes each frame with one res.write(), id + event + data, LF only, no BOM", async () => {
    const writes: string[] = [];
    const handler = (_req: IncomingMessage, res: ServerResponse) => {
      setupSseHeaders(res);
      const original = res.write.bind(res);
      res.write = ((chunk: string) => {
        writes.push(chunk);
        return original(chunk);
      }) as typeof res.write;
      writeSseFrame(res, { id: 0, event: "ready", data: { taskId: "t" }, retry: 1500 });
      writeSseFrame(res, { id: 1, event: "progress", data: { done: 1 } });
      writeSseComment(res, "heartbeat");
      writeSseFrame(res, { id: 2, event: "completed", data: { result: "a\nb" } });
      res.end();
    };
    const sse = await parseSSEResponse(request(handler).get("/"));
    expect(writes).toHaveLength(4); // three frames + one comment, one write each
    expect(sse.raw[0]).not.toBe(0xef); // no BOM
    expect(sse.raw.includes(13)).toBe(false); // no CR anywhere
    expect(sse.violations).toEqual([]);
    expect(sse.errors).toEqual([]);
    expect(sse.frames).toEqual([
      { id: "0", event: "ready", data: { taskId: "t" }, rawData: '{"taskId":"t"}', retry: 1500 },
      { id: "1", event: "progress", data: { done: 1 }, rawData: '{"done":1}', retry: undefined },
      {
        id: "2",
        event: "completed",
        data: { result: "a\nb" },
        rawData: '{"result":"a\\nb"}',
        retry: undefined,
      },
    ]);
    expect(sse.comments).toEqual(["ok", "heartbeat"]);
  });

  it("splits multi-line JSON over several data: lines that join back to the same value", () => {
    const text = formatSseFrame({ id: 7, event: "progress", data: { a: 1, b: [2, 3] } }, { space: 2 });
    const dataLines = text.split("\n").filter((line) => line.startsWith("data: "));
    expect(dataLines.length).toBeGreaterThan(3);
    const parsed = parse(text);
    expect(parsed.violations).toEqual([]);
    expect(parsed.frames[0]?.data).toEqual({ a: 1, b: [2, 3] });
    expect(parsed.frames[0]?.id).toBe("7");
  });

  it("writes BigInt as a decimal string and Date as ISO-8601", () => {
    const big = 2n ** 70n;
    const parsed = parse(formatSseFrame({ id: 1, event: "tick", data: { big, at: new Date(0) } }));
    expect(parsed.frames[0]?.data).toEqual({ big: big.toString(), at: "1970-01-01T00:00:00.000Z" });
  });

  it("refuses reserved or malformed event names, and ids and retries that are not non-negative integers", () => {
    for (const event of ["error", "message", "x\nid: 9", ""])
      expect(() => formatSseFrame({ id: 1, event, data: {} })).toThrow(TypeError);
    for (const id of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
      expect(() => formatSseFrame({ id, event: "tick", data: {} })).toThrow(/id/);
    expect(() => formatSseFrame({ id: 1, event: "tick", data: {}, retry: -5 })).toThrow(/retry/);
  });

  it("writes a multi-line comment as several comment lines", () => {
    const parsed = parse(": x\n\n"); // sanity: the collector reads comments
    expect(parsed.comments).toEqual(["x"]);
    const chunks: string[] = [];
    const res = { write: (c: string) => chunks.push(c) > 0 } as unknown as ServerResponse;
    writeSseComment(res, "one\ntwo");
    expect(chunks).toHaveLength(1);
    expect(parse(chunks[0] ?? "").comments).toEqual(["one", "two"]);
  });
});
