import { EVENT_NAME_PATTERN, RESERVED_EVENT_NAMES } from "@taskwire/core";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BRIDGE_EVENT_NAMES,
  formatSseFrame,
  isWireEventName,
  type SseFrame,
  writeSseComment,
} from "./frames";

/** Strings made of any 16-bit code units: lone surrogates, NUL, CR, LF, U+2028/2029 all show up often. */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

/** The characters that break naive SSE writers, mixed with astral and BMP text. */
const nasty = fc.constantFrom(
  "\n",
  "\r",
  "\r\n",
  "\n\n",
  "\u2028",
  "\u2029",
  "\0",
  "\ud800",
  "\udfff",
  "😀",
  "\ufeff",
  "data: x",
  "id: 9",
  ": c",
  "é",
);

const payloadString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary" }) },
  { weight: 4, arbitrary: codeUnits },
  {
    weight: 4,
    arbitrary: fc.array(fc.oneof(nasty, fc.string()), { maxLength: 30 }).map((parts) => parts.join("")),
  },
  // Occasionally large (up to ~200 KB): a frame is written in one piece whatever its size.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1000, max: 25_000 }), fc.array(nasty, { minLength: 1, maxLength: 8 }))
      .map(([times, parts]) => `${parts.join("")}abcd`.repeat(times).slice(0, 200_000)),
  },
);

/** JSON-able payloads, with the nasty strings as values and keys at any depth. */
const payload: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  payloadString,
  fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      payloadString,
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("node"), { maxLength: 4 }),
      fc.dictionary(payloadString, tie("node"), { maxKeys: 4, noNullPrototype: true }),
    ),
  })).node,
);

/** Names valid by the spec pattern, plus the bridge's own names. */
const eventName = fc.oneof(
  fc.constantFrom(...BRIDGE_EVENT_NAMES),
  fc.stringMatching(EVENT_NAME_PATTERN).filter((name) => !RESERVED_EVENT_NAMES.includes(name)),
);

const frame: fc.Arbitrary<SseFrame> = fc.record(
  {
    id: fc.maxSafeNat(),
    event: eventName,
    data: payload,
    retry: fc.maxSafeNat(),
  },
  { requiredKeys: ["id", "event", "data"] },
);

/**
 * Feeds `text` to eventsource-parser as UTF-8 bytes cut at the given offsets (so multi-byte sequences
 * are split too), decoding with a streaming TextDecoder as a browser would.
 */
function parseBytes(text: string, cuts: number[]) {
  const bytes = new TextEncoder().encode(text);
  const events: EventSourceMessage[] = [];
  const retries: number[] = [];
  const errors: string[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onRetry: (retry) => retries.push(retry),
    onError: (error) => errors.push(error.message),
  });
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const offsets = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...offsets, bytes.length]) {
    parser.feed(decoder.decode(bytes.subarray(from, to), { stream: true }));
    from = to;
  }
  parser.feed(decoder.decode());
  return { events, retries, errors };
}

/** What a client's `JSON.parse(data)` must give: the payload through plain JSON. */
const viaJson = (data: unknown) => JSON.parse(JSON.stringify(data === undefined ? null : data));

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

describe("SSE framing (fuzz)", () => {
  it("every frame parses as exactly one event with its id, name and JSON data, however the bytes are cut", () => {
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 4 }),
        cuts,
        fc.boolean(),
        (frames, at, pretty) => {
          const texts = frames.map((f) => formatSseFrame(f, pretty ? { space: 2 } : {}));
          for (const [i, text] of texts.entries()) {
            const f = frames[i]!;
            // Structure: LF endings only, exactly one block (one blank line, at the end), id and data present.
            expect(text).not.toContain("\r");
            expect(text.endsWith("\n\n")).toBe(true);
            expect(text.indexOf("\n\n")).toBe(text.length - 2);
            const lines = text.slice(0, -2).split("\n");
            expect(lines).toContain(`id: ${f.id}`);
            expect(lines).toContain(`event: ${f.event}`);
            expect(lines.some((line) => line.startsWith("data: "))).toBe(true);
            expect(lines.every((line) => /^(retry|id|event|data): /.test(line))).toBe(true);
            // Lone surrogates are written as JSON `\uXXXX` escapes (well-formed JSON.stringify), so the
            // text is well-formed UTF-16 and survives UTF-8 encoding unchanged.
            expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text);
          }
          const { events, retries, errors } = parseBytes(texts.join(""), at);
          expect(errors).toEqual([]);
          expect(events).toHaveLength(frames.length);
          for (const [i, event] of events.entries()) {
            const f = frames[i]!;
            expect(event.id).toBe(String(f.id));
            expect(event.event).toBe(f.event);
            // Lone surrogates come back as the same lone surrogates: the escape round-trips.
            expect(JSON.parse(event.data)).toStrictEqual(viaJson(f.data));
          }
          expect(retries).toEqual(frames.flatMap((f) => (f.retry === undefined ? [] : [f.retry])));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects every event name outside the spec pattern or reserved, whatever it contains", () => {
    const badName = fc.oneof(
      codeUnits.filter((name) => !EVENT_NAME_PATTERN.test(name)),
      fc
        .constantFrom(...RESERVED_EVENT_NAMES)
        .filter((name) => !(BRIDGE_EVENT_NAMES as readonly string[]).includes(name)),
      fc
        .tuple(
          fc.stringMatching(EVENT_NAME_PATTERN),
          fc.constantFrom("\n", "\r", "\r\n", " ", "\0", "\n\ndata: x"),
        )
        .map(([name, tail]) => name + tail),
    );
    fc.assert(
      fc.property(badName, fc.maxSafeNat(), payload, (event, id, data) => {
        expect(isWireEventName(event)).toBe(false);
        expect(() => formatSseFrame({ id, event, data })).toThrow(TypeError);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects ids and retries that are not non-negative safe integers", () => {
    const badNumber = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double().filter((n) => !Number.isSafeInteger(n) || n < 0),
      fc.constantFrom(Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 1.5),
    );
    fc.assert(
      fc.property(badNumber, (bad) => {
        expect(() => formatSseFrame({ id: bad, event: "tick", data: 1 })).toThrow(TypeError);
        expect(() => formatSseFrame({ id: 1, event: "tick", data: 1, retry: bad })).toThrow(TypeError);
      }),
      { numRuns: 200 },
    );
  });

  it("writes comments as comment lines only: never an event, never a CR", () => {
    fc.assert(
      fc.property(fc.oneof(codeUnits, payloadString), cuts, (comment, at) => {
        const written: string[] = [];
        const res = { write: (chunk: string) => written.push(chunk) > 0 };
        writeSseComment(res as never, comment);
        expect(written).toHaveLength(1);
        const text = written[0]!;
        expect(text).not.toContain("\r");
        expect(text.endsWith("\n\n")).toBe(true);
        expect(
          text
            .slice(0, -2)
            .split("\n")
            .every((line) => line.startsWith(":")),
        ).toBe(true);
        // Comments never reach a client's handlers, and a later frame still parses on its own.
        const next = formatSseFrame({ id: 7, event: "tick", data: comment });
        const { events } = parseBytes(new TextDecoder().decode(new TextEncoder().encode(text)) + next, at);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ id: "7", event: "tick" });
        expect(JSON.parse(events[0]!.data)).toBe(comment);
      }),
      { numRuns: 200 },
    );
  });
});
