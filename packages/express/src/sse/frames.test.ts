import { SSECollector } from "@taskwire/testing";
import { describe, expect, it } from "vitest";
import { BRIDGE_EVENT_NAMES, formatSseFrame, isWireEventName, toSseJson } from "./frames";

/** Parses formatted text the way a client would. */
function parse(text: string) {
  const collector = new SSECollector();
  collector.feed(text);
  return collector.end();
}

describe("toSseJson", () => {
  it("writes BigInt as a decimal string, Date as ISO-8601, undefined as null", () => {
    const big = 2n ** 70n;
    expect(toSseJson({ big, at: new Date(0) })).toBe(`{"big":"${big}","at":"1970-01-01T00:00:00.000Z"}`);
    expect(toSseJson(undefined)).toBe("null");
    const parsed = parse(formatSseFrame({ id: 1, event: "tick", data: { big, at: new Date(0) } }));
    expect(parsed.frames[0]?.data).toEqual({ big: big.toString(), at: "1970-01-01T00:00:00.000Z" });
  });
});

describe("isWireEventName", () => {
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
});
