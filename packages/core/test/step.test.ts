import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask, step } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

describe("step()", () => {
  it("rejects an anonymous function with a clear error", () => {
    expect(() => step(async () => 1)).toThrow(/named function/);
    expect(() => step("", async () => 1)).toThrow(/named function/);
    expect(() => step("a#b", async () => 1)).toThrow(/no "#"/);
  });

  it("takes the key from fn.name", () => {
    // Not `const save = step(async function save…)`: bundlers rename a function that shadows its binding.
    const saveStep = step(async function save() {
      return 1;
    });
    expect(saveStep.stepName).toBe("save");
  });

  it("is a plain call outside a task", async () => {
    const add = step("add", async (a: number, b: number) => a + b);
    expect(await add(2, 3)).toBe(5);
  });

  it("runs nested steps inline (no checkpoint of their own) so replay positions stay stable", async () => {
    const inner = step("inner", async () => 1);
    const def = defineTask({
      name: "step.nested",
      input: z.object({}),
      result: z.object({ v: z.number() }),
      async run(_input, ctx) {
        const v = await ctx.step("outer", async () => (await inner()) + 1);
        return { v };
      },
    });
    const taskflow = await makeTaskflow(onTestFinished);
    const { taskId } = await taskflow.start(taskflow.task(def), {});
    await collect(taskflow, taskId);
    const history = await taskflow.store.loadHistory(taskId);
    expect(history.steps.map((s) => s.key)).toEqual(["outer#0"]);
  });
});
