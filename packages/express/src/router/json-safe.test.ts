import { describe, expect, it } from "vitest";
import { toJsonSafe } from "./json-safe";

describe("toJsonSafe", () => {
  it("turns BigInt into strings and Dates into ISO strings, and drops undefined members", () => {
    expect(toJsonSafe({ n: 2n ** 70n, at: new Date(0), gone: undefined })).toEqual({
      n: (2n ** 70n).toString(),
      at: "1970-01-01T00:00:00.000Z",
    });
    expect(toJsonSafe(undefined)).toBeNull();
  });
});
