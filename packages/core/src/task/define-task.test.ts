import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isTaskwireError } from "../errors/taskwire-error";
import {
  assertEventName,
  defineTask,
  isTaskDefinition,
  RESERVED_EVENT_NAMES,
  TASK_NAME_PATTERN,
} from "./define-task";

const base = { input: z.object({}), result: z.object({}), run: async () => ({}) };

function definitionError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an InvalidDefinitionError");
}

describe("defineTask validation", () => {
  it("accepts dotted identifiers as task names and rejects anything else", () => {
    for (const name of ["reports.generate", "a", "a-b_c.d2.e"])
      expect(TASK_NAME_PATTERN.test(name)).toBe(true);
    for (const name of ["", "1abc", "a..b", "a.", ".a", "a b", "a/b", `a\nb`, "x".repeat(129)]) {
      const error = definitionError(() => defineTask({ ...base, name }));
      expect(isTaskwireError(error, "INVALID_DEFINITION")).toBe(true);
    }
  });

  it("rejects malformed and reserved event names (no CR/LF can reach the SSE wire)", () => {
    for (const event of ["has space", "line\nbreak", "9starts", "x".repeat(65), ...RESERVED_EVENT_NAMES]) {
      const error = definitionError(() => assertEventName("t.x", event));
      expect(isTaskwireError(error, "INVALID_DEFINITION")).toBe(true);
    }
    expect(() => assertEventName("t.x", "progress:step-1.done")).not.toThrow();
  });

  it("recognises its own definitions", () => {
    expect(isTaskDefinition(defineTask({ ...base, name: "t.ok" }))).toBe(true);
    expect(isTaskDefinition({ name: "t.ok" })).toBe(false);
    expect(isTaskDefinition(null)).toBe(false);
  });
});
