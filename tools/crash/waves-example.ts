import { defineTask } from "@taskwire/core";
import { z } from "zod";

/**
 * The "Waves" example of the tools README, verbatim: a plan step, one child per item, a join step.
 * `waves.test.ts` runs it; the crash-tested twin with counting hooks is the parent in `flow-tasks.ts`.
 */

/** Wave 2's child: squares one number in a step. */
export const square = defineTask({
  name: "waves.square",
  input: z.object({ n: z.number() }),
  result: z.object({ squared: z.number() }),
  async run({ n }, ctx) {
    return { squared: await ctx.step("square", () => n * n) };
  },
});

/** The three waves: plan, fan out and wait, join. */
export const sumOfSquares = defineTask({
  name: "waves.sum-of-squares",
  input: z.object({ upTo: z.number().int().positive() }),
  result: z.object({ sum: z.number() }),
  async run({ upTo }, ctx) {
    // Wave 1: a step computes the work list (recorded once; a replay reads it back).
    const items = await ctx.step("plan", () => Array.from({ length: upTo }, (_, i) => i + 1));
    // Wave 2: one child per item. Spawns are memoized like steps: a replay gets the same children back.
    const children = await Promise.all(items.map((n) => ctx.spawn(square, { n })));
    // The parent waits as `waiting` (no worker slot, no lease) and is woken as its children settle.
    const results = await Promise.all(children.map((child) => child.result()));
    // Wave 3: a step joins the results.
    const sum = await ctx.step("join", () => results.reduce((total, r) => total + r.squared, 0));
    return { sum };
  },
});
