import type { IncomingMessage } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseLastEventId, resolveResumeCursor } from "./last-event-id";

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The contract (SPEC 5), written independently of the implementation: ASCII digits without a leading
 * zero (or exactly "0") are a cursor, clamped to MAX_SAFE_INTEGER; anything else is absent.
 */
function expected(value: unknown): number | undefined {
  if (typeof value !== "string" || value.length === 0) return undefined;
  for (const ch of value) if (ch < "0" || ch > "9") return undefined;
  if (value.length > 1 && value.startsWith("0")) return undefined;
  const n = BigInt(value);
  return Number(n > MAX ? MAX : n);
}

/** Canonical non-negative integers, small to far past MAX_SAFE_INTEGER. */
const canonical = fc
  .oneof(
    fc.bigInt({ min: 0n, max: 1000n }),
    fc.bigInt({ min: 0n, max: MAX + 10n }),
    fc.bigInt({ min: 0n, max: 10n ** 400n }),
  )
  .map(String);

/** Near misses: whitespace, signs, leading zeros, exponents, hex, fractions, non-ASCII digits. */
const nearMiss = fc
  .tuple(
    canonical,
    fc.constantFrom(
      (s: string) => ` ${s}`,
      (s: string) => `${s} `,
      (s: string) => `\t${s}`,
      (s: string) => `${s}\n`,
      (s: string) => `+${s}`,
      (s: string) => `-${s}`,
      (s: string) => `0${s}`,
      (s: string) => `00${s}`,
      (s: string) => `${s}e3`,
      (s: string) => `${s}E+1`,
      (s: string) => `0x${s}`,
      (s: string) => `0b1${s}`,
      (s: string) => `${s}.0`,
      (s: string) => `.${s}`,
      (s: string) => `${s}n`,
      (s: string) => `${s}_000`,
      (s: string) => `1,${s}`,
      (s: string) => `${s},${s}`,
      (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d))), // Arabic-Indic
      (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))), // fullwidth
      (s: string) => `${s}\u0000`,
      (s: string) => `${s}\u00a0`,
      () => "Infinity",
      () => "NaN",
      () => "",
    ),
  )
  .map(([s, mutate]) => mutate(s));

const anyString = fc.oneof(
  canonical,
  nearMiss,
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.stringMatching(/^[0-9+\-.eExX ]{0,30}$/),
);

describe("Last-Event-ID parsing (fuzz)", () => {
  it("never throws and yields a cursor exactly for canonical non-negative integers (clamped)", () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.anything()), (value) => {
        const cursor = parseLastEventId(value);
        expect(cursor).toBe(expected(value));
        if (cursor !== undefined) {
          expect(Number.isSafeInteger(cursor)).toBe(true);
          expect(cursor).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips every canonical integer to itself, and clamps beyond MAX_SAFE_INTEGER", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(parseLastEventId(String(n))).toBe(n);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: MAX + 1n, max: 10n ** 40n }), (n) => {
        expect(parseLastEventId(String(n))).toBe(Number.MAX_SAFE_INTEGER);
      }),
      { numRuns: 300 },
    );
  });

  /** A query value: absent, one value, or the parameter repeated. */
  const queryValues = fc.oneof(
    fc.constant<string[]>([]),
    anyString.map((v) => [v]),
    fc.array(anyString, { minLength: 2, maxLength: 3 }),
  );
  const headerValue = fc.option(anyString, { nil: undefined });
  const otherParams = fc.array(
    fc.tuple(fc.constantFrom("a", "lastEventID", "lasteventid", "last-event-id"), anyString),
    {
      maxLength: 3,
    },
  );

  it("resolves header, then a single ?lastEventId=, then 0, on raw node requests", () => {
    fc.assert(
      fc.property(headerValue, queryValues, otherParams, (header, values, others) => {
        const params = new URLSearchParams();
        for (const [k, v] of others) params.append(k, v);
        for (const v of values) params.append("lastEventId", v);
        const url = `/api/tasks/t1/events?${params}`;
        const headers = header === undefined ? {} : { "last-event-id": header };
        const req = { headers, url } as unknown as IncomingMessage;
        const fromQuery = values.length === 1 ? expected(values[0]) : undefined;
        expect(resolveResumeCursor(req)).toBe(expected(header) ?? fromQuery ?? 0);
      }),
      { numRuns: 1000 },
    );
  });

  it("resolves the same way from an express-parsed req.query (strings only; arrays and objects are absent)", () => {
    const queryValue = fc.oneof(
      anyString,
      fc.array(anyString, { minLength: 1, maxLength: 3 }),
      fc.dictionary(fc.string(), anyString, { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(headerValue, fc.option(queryValue, { nil: undefined }), (header, value) => {
        const headers = header === undefined ? {} : { "last-event-id": header };
        const query = value === undefined ? {} : { lastEventId: value };
        // `url` disagrees with `query` on purpose: the parsed query is the one that counts.
        const req = { headers, url: "/e?lastEventId=12345", query } as unknown as IncomingMessage;
        const fromQuery = typeof value === "string" ? expected(value) : undefined;
        expect(resolveResumeCursor(req)).toBe(expected(header) ?? fromQuery ?? 0);
      }),
      { numRuns: 1000 },
    );
  });
});
