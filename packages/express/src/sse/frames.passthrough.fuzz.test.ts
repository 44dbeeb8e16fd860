import { encode } from "@taskwire/core/store";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSseFrame, formatSseJsonFrame } from "./frames";

/** Strings of any 16-bit code units (lone surrogates, CR, LF, U+2028 show up often). */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

/** JSON-shaped values as task events carry them: nested objects and arrays, any strings and keys, odd numbers. */
const payload = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    codeUnits,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(codeUnits, fc.constantFrom("__proto__", "1", "0", "10", "-1", "$twx")),
      tie("value"),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

describe("formatSseJsonFrame: a WAL event's stored text written as it is", () => {
  it("equals the frame formatSseFrame writes from the decoded value, whenever the codec tagged nothing", () => {
    fc.assert(
      fc.property(payload, fc.nat(), (value, id) => {
        const stored = encode(value);
        fc.pre(!stored.includes("$tw"));
        const decoded = JSON.parse(stored);
        expect(formatSseJsonFrame(id, "progress", stored)).toBe(
          formatSseFrame({ id, event: "progress", data: decoded }),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses data with a line break, a malformed id or a reserved name", () => {
    expect(() => formatSseJsonFrame(1, "progress", '{"a":1}\ndata: x')).toThrow(/one line/);
    expect(() => formatSseJsonFrame(-1, "progress", "{}")).toThrow(/id/);
    expect(() => formatSseJsonFrame(1, "message", "{}")).toThrow(/reserved/);
  });
});
