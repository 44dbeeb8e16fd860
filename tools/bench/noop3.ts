import { defineTask } from "@taskwire/core";
import { z } from "zod";

/** The benchmarks' task: three no-op checkpoints. */
export const noop3 = defineTask({
  name: "bench.noop3",
  input: z.object({ i: z.number() }),
  result: z.object({ i: z.number() }),
  async run(input, ctx) {
    await ctx.step("a", () => 1);
    await ctx.step("b", () => 2);
    await ctx.step("c", () => 3);
    return { i: input.i };
  },
});
