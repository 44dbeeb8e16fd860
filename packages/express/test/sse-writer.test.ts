import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BRIDGE_EVENT_NAMES,
  formatSseFrame,
  isWireEventName,
  parseLastEventId,
  resolveResumeCursor,
  SSE_HEADERS,
  setupSseHeaders,
  toSseJson,
  writeSseComment,
  writeSseFrame,
} from "@taskwire/express";
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
    expect(SSE_HEADERS["Content-Type"]).toBe("text/event-stream; charset=utf-8");
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

  it("writes BigInt as a decimal string, Date as ISO-8601, undefined as null", () => {
    const big = 2n ** 70n;
    expect(toSseJson({ big, at: new Date(0) })).toBe(`{"big":"${big}","at":"1970-01-01T00:00:00.000Z"}`);
    expect(toSseJson(undefined)).toBe("null");
    const parsed = parse(formatSseFrame({ id: 1, event: "tick", data: { big, at: new Date(0) } }));
    expect(parsed.frames[0]?.data).toEqual({ big: big.toString(), at: "1970-01-01T00:00:00.000Z" });
  });

  it("accepts the bridge's own names and well-formed plugin names", () => {
    for (const event of BRIDGE_EVENT_NAMES) expect(isWireEventName(event)).toBe(true);
    for (const event of ["progress", "row.done", "a:b", "A_1-2", "x".repeat(64)]) {
      expect(isWireEventName(event)).toBe(true);
      expect(() => formatSseFrame({ id: 1, event, data: null })).not.toThrow();
    }
  });

  it("refuses reserved and malformed event names, so CR/LF never reaches the wire", () => {
    const bad = [
      "error",
      "message",
      "open",
      "heartbeat",
      "",
      "1st",
      "has space",
      "x\nid: 9",
      "x\r",
      "x".repeat(65),
    ];
    for (const event of bad) {
      expect(isWireEventName(event)).toBe(false);
      expect(() => formatSseFrame({ id: 1, event, data: {} })).toThrow(TypeError);
    }
    expect(isWireEventName(undefined)).toBe(false);
  });

  it("refuses ids and retries that are not non-negative integers", () => {
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

describe("Last-Event-ID parsing", () => {
  it("accepts canonical non-negative integers and clamps huge values", () => {
    expect(parseLastEventId("0")).toBe(0);
    expect(parseLastEventId("42")).toBe(42);
    expect(parseLastEventId("99999999999999999999999")).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("treats anything else as absent", () => {
    for (const value of ["01", "-1", "1.5", " 1", "1 ", "abc", "", "1e3", "0x10", "+1", ["1"], 1, undefined])
      expect(parseLastEventId(value)).toBeUndefined();
  });

  it("prefers the header, falls back to ?lastEventId=, then to 0", () => {
    const req = (headers: Record<string, string>, url: string) =>
      ({ headers, url }) as unknown as IncomingMessage;
    expect(resolveResumeCursor(req({ "last-event-id": "5" }, "/e?lastEventId=3"))).toBe(5);
    expect(resolveResumeCursor(req({}, "/e?lastEventId=3"))).toBe(3);
    expect(resolveResumeCursor(req({ "last-event-id": "x" }, "/e?lastEventId=3"))).toBe(3);
    expect(resolveResumeCursor(req({}, "/e?lastEventId=03"))).toBe(0);
    expect(resolveResumeCursor(req({}, "/e?lastEventId=1&lastEventId=2"))).toBe(0);
    expect(resolveResumeCursor(req({}, "/e"))).toBe(0);
  });
});
