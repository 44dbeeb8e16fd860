import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { parseLastEventId, resolveResumeCursor } from "./last-event-id";

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
