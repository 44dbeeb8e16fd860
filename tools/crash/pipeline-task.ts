import { defineTask, step } from "@taskwire/core";
import { z } from "zod";

/**
 * The task the crash harness kills. Six checkpoints: five occurrences of one inline step (`chunk#0` …
 * `chunk#4`, so occurrence keys are replayed too) and one module-style `step()` (`finish#0`); events are
 * emitted between steps and inside step bodies. Everything it emits or returns is a pure function of
 * `input.seed`, so the parent can compute the exact expected WAL.
 */

/** Step keys in checkpoint order. */
export const STEP_KEYS = ["chunk#0", "chunk#1", "chunk#2", "chunk#3", "chunk#4", "finish#0"] as const;
const CHUNKS = 5;
const STEP_COUNT = STEP_KEYS.length;

/** What the child process hooks into the task body. */
export interface PipelineHooks {
  /** Records one execution of a step body OUTSIDE the database (before the body does anything else). */
  count(stepKey: string): void;
  /** A point of interest the harness may kill the process at. */
  point(name: string): void;
}

/** A chunk's value: arbitrary but deterministic per seed, so a replay that returned a wrong checkpoint shows. */
export const chunkValue = (seed: number, i: number): number => (seed * 31 + i * 977) % 10_007;

/** Builds the task definition around the child's hooks. */
export function pipelineTask(hooks: PipelineHooks) {
  const finish = step(
    "finish",
    async (ctx: { emit(name: "note", data: { step: number; text: string }): void }, total: number) => {
      hooks.count("finish#0");
      hooks.point("body:finish#0");
      ctx.emit("note", { step: CHUNKS, text: "finishing" });
      await pause();
      return { total, digest: (total * 7) % 1009 };
    },
  );
  return defineTask({
    name: "crash.pipeline",
    input: z.object({ seed: z.number().int().nonnegative() }),
    result: z.object({ total: z.number(), digest: z.number(), values: z.array(z.number()) }),
    events: {
      progress: z.object({ done: z.number(), total: z.number() }),
      note: z.object({ step: z.number(), text: z.string() }),
    },
    // Crash recovery must not lean on task retries: any failure ends the run visibly as `failed`.
    retry: { maxAttempts: 1 },
    async run(input, ctx) {
      ctx.emit("progress", { done: 0, total: STEP_COUNT });
      const values: number[] = [];
      for (let i = 0; i < CHUNKS; i++) {
        const value = await ctx.step("chunk", async () => {
          hooks.count(`chunk#${i}`);
          hooks.point(`body:chunk#${i}`);
          if (i % 2 === 0) ctx.emit("note", { step: i, text: `inside chunk ${i}` });
          await pause();
          return chunkValue(input.seed, i);
        });
        values.push(value);
        hooks.point(`between:chunk#${i}`);
        ctx.emit("progress", { done: i + 1, total: STEP_COUNT });
      }
      const total = values.reduce((a, b) => a + b, 0);
      const { digest } = await finish(ctx, total);
      hooks.point("between:finish#0");
      ctx.emit("progress", { done: STEP_COUNT, total: STEP_COUNT });
      return { total, digest, values };
    },
  });
}

/** A short real wait, so a delayed kill can land while a body is in flight. */
/** A short real pause inside a task body: widens the window a kill can land in. */
export const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 2));

/** The exact visible events (before the terminal one) a correct run leaves in the WAL. */
export function expectedEvents(seed: number): Array<{ name: string; data: unknown }> {
  void seed; // payloads do not depend on the seed; the result does
  const out: Array<{ name: string; data: unknown }> = [{ name: "progress", data: { done: 0, total: 6 } }];
  for (let i = 0; i < CHUNKS; i++) {
    if (i % 2 === 0) out.push({ name: "note", data: { step: i, text: `inside chunk ${i}` } });
    out.push({ name: "progress", data: { done: i + 1, total: 6 } });
  }
  out.push({ name: "note", data: { step: 5, text: "finishing" } });
  out.push({ name: "progress", data: { done: 6, total: 6 } });
  return out;
}

/** The result a correct run completes with. */
export function expectedResult(seed: number): { total: number; digest: number; values: number[] } {
  const values = Array.from({ length: CHUNKS }, (_, i) => chunkValue(seed, i));
  const total = values.reduce((a, b) => a + b, 0);
  return { total, digest: (total * 7) % 1009, values };
}
