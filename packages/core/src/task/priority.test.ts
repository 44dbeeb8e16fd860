import { describe, expect, it } from "vitest";
import { isTaskwireError } from "../errors/taskwire-error";
import { checkPriority } from "./priority";

describe("checkPriority", () => {
  it("defaults to 0 and accepts integers from -10 to 10", () => {
    expect(checkPriority(undefined, "start options")).toBe(0);
    expect(checkPriority(-10, "start options")).toBe(-10);
    expect(checkPriority(10, "start options")).toBe(10);
  });

  it.each([11, -11, 1.5, Number.NaN, "3", null])(
    "rejects %s with a ValidationError naming priority",
    (value) => {
      let error: unknown;
      try {
        checkPriority(value, "start options");
      } catch (e) {
        error = e;
      }
      expect(isTaskwireError(error, "VALIDATION_ERROR")).toBe(true);
      expect((error as { issues: Array<{ path: string }> }).issues[0]?.path).toBe("priority");
    },
  );
});
