import { describe, expect, it } from "vitest";
import { canonicalEncode, decode, encode } from "../src/index";

describe("codec", () => {
  it("round-trips BigInt, Date, nested arrays and objects", () => {
    const value = {
      n: 2n ** 80n,
      at: new Date("2026-11-21T10:00:00.123Z"),
      list: [1n, { d: new Date(0) }],
      s: "x",
      z: null,
    };
    expect(decode(encode(value))).toEqual(value);
  });

  it("never confuses user keys spelled like its tags", () => {
    const tricky = {
      $tw: "bigint",
      v: "1",
      nested: { $tw$: "date", $tw$$: 3, $twx: true },
      arr: [{ $tw: "obj" }],
    };
    expect(decode(encode(tricky))).toEqual(tricky);
    expect(decode(encode({ $tw: 1 }))).toEqual({ $tw: 1 }); // flat objects take the fast path too
  });

  it("keeps an invalid Date invalid and drops undefined members like JSON", () => {
    const out = decode<{ d: Date; u?: unknown }>(encode({ d: new Date(Number.NaN), u: undefined }));
    expect(Number.isNaN(out.d.getTime())).toBe(true);
    expect("u" in out).toBe(false);
    expect(decode(encode(undefined))).toBe(null);
  });

  it("encodes canonically: key order does not matter", () => {
    expect(canonicalEncode({ b: 1, a: { d: 2n, c: [3] } })).toBe(
      canonicalEncode({ a: { c: [3], d: 2n }, b: 1 }),
    );
  });
});
