import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isTaskwireError } from "../errors/taskwire-error";
import { parseWith } from "./validate";

describe("parseWith", () => {
  it("returns the parsed output (defaults applied)", () => {
    expect(parseWith(z.object({ n: z.number().default(3) }), {}, "input")).toEqual({ n: 3 });
  });

  it("throws a ValidationError naming the boundary and the offending field by dotted path", () => {
    const schema = z.object({ items: z.array(z.object({ id: z.string() })) });
    let thrown: unknown;
    try {
      parseWith(schema, { items: [{ id: 1 }] }, 'input of task "x"');
    } catch (error) {
      thrown = error;
    }
    expect(isTaskwireError(thrown, "VALIDATION_ERROR")).toBe(true);
    expect(thrown).toMatchObject({
      message: expect.stringMatching(/^Invalid input of task "x" at "items\.0\.id": /),
      issues: [{ path: "items.0.id", code: "invalid_type" }],
    });
  });
});
