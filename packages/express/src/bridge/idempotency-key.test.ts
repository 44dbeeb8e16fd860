import { isTaskwireError } from "@taskwire/core";
import { describe, expect, it } from "vitest";
import { validateIdempotencyKey } from "./idempotency-key";

describe("validateIdempotencyKey", () => {
  it('accepts no key, 1-255 visible ASCII characters, and the derived-key marker "input"', () => {
    for (const key of [undefined, "k", "input", "order-42:retry#1", "~".repeat(255)])
      expect(() => validateIdempotencyKey(key)).not.toThrow();
  });

  it("refuses empty, oversized, spaced, control, non-ASCII and non-string keys with a 400 naming the header", () => {
    for (const key of [
      "",
      "x".repeat(256),
      "x".repeat(10_000),
      "a b",
      " a",
      "a\tb",
      "a\r\nb",
      "é",
      "ключ",
      7,
      null,
    ]) {
      let thrown: unknown;
      try {
        validateIdempotencyKey(key);
      } catch (error) {
        thrown = error;
      }
      expect(isTaskwireError(thrown, "BAD_REQUEST"), JSON.stringify(key)).toBe(true);
      expect((thrown as Error).message).toContain("Idempotency-Key");
    }
  });
});
