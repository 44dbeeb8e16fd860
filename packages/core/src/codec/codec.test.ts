import { describe, expect, it } from "vitest";
import { canonicalEncode, decode, encode } from "./codec";

describe("codec", () => {
  it("round-trips primitives as plain JSON (the fast path) and objects through the tags", () => {
    for (const value of ["text", "$tw", "", 0, -1.5, true, false, null]) {
      expect(encode(value)).toBe(JSON.stringify(value));
      expect(decode(encode(value))).toEqual(value);
    }
    expect(encode(undefined)).toBe("null");
    expect(encode(Number.NaN)).toBe("null");
    expect(decode(encode(10n))).toBe(10n);
    expect(decode(encode(new Date(5)))).toEqual(new Date(5));
  });

  it("keeps user keys spelled like the tag, and values without the tag decode unchanged", () => {
    const value = { $tw: "bigint", v: "1", nested: { $tw$: [1, { $tw: 2 }] }, plain: [1, "a", null] };
    const text = encode(value);
    expect(decode(text)).toEqual(value);
    expect(decode('{"a":[1,{"b":"x"}],"c":null}')).toEqual({ a: [1, { b: "x" }], c: null });
    expect(decode(encode({ at: new Date(0), n: 2n ** 70n }))).toEqual({ at: new Date(0), n: 2n ** 70n });
  });

  it("encodes flat plain objects like the tagged path would", () => {
    expect(encode({ a: 1, b: "x", c: null, d: undefined, e: true })).toBe(
      '{"a":1,"b":"x","c":null,"e":true}',
    );
    expect(encode({ n: Number.NaN })).toBe('{"n":null}');
    expect(decode(encode({ n: 1n, s: "a" }))).toEqual({ n: 1n, s: "a" });
    expect(decode(encode({ $tw: 1 }))).toEqual({ $tw: 1 });
    expect(encode({ $tw: 1 })).toBe('{"$tw$":1}');
    expect(decode(encode({ when: new Date(1) }))).toEqual({ when: new Date(1) });
    const withToJSON = { a: 1, toJSON: () => "custom" };
    expect(encode(withToJSON)).toBe('"custom"');
    expect(decode(encode(Object.assign(Object.create(null), { a: 1 })))).toEqual({ a: 1 });
  });

  it("round-trips BigInt and Date nested in arrays and objects, and never confuses tag-like user keys", () => {
    const value = {
      n: 2n ** 80n,
      at: new Date("2026-11-21T10:00:00.123Z"),
      list: [1n, { d: new Date(0) }],
      nested: { $tw$: "date", $tw$$: 3, $twx: true },
      arr: [{ $tw: "obj" }],
      z: null,
    };
    expect(decode(encode(value))).toEqual(value);
  });

  it("keeps an invalid Date invalid and drops undefined members like JSON", () => {
    const out = decode<{ d: Date; u?: unknown }>(encode({ d: new Date(Number.NaN), u: undefined }));
    expect(Number.isNaN(out.d.getTime())).toBe(true);
    expect("u" in out).toBe(false);
  });

  it("encodes canonically (sorted keys, at every depth) for idempotency hashes", () => {
    expect(canonicalEncode({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(canonicalEncode({ b: 1, a: { d: 2n, c: [3] } })).toBe(
      canonicalEncode({ a: { c: [3], d: 2n }, b: 1 }),
    );
  });
});
