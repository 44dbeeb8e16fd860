import { defineTask } from "@taskwire/core";
import { z } from "zod";
import type { PipelineHooks } from "./pipeline-task";
import { pause } from "./pipeline-task";

/**
 * The flow the crash harness kills: a parent in three stages ("waves") — a step computes the item list,
 * one child per item is spawned and awaited, a step joins the children's results — and, in the `flow`
 * workload, a fourth: it waits for the signal `go`, then runs a last step. Each child has two steps and
 * emits around and inside them. Everything emitted or returned is a pure function of the input (and the
 * signal's token), so the parent process can compute the exact expected state.
 */

/** Name of the parent task. */
export const FLOW_PARENT = "crash.flow";
/** Name of the child task. */
export const FLOW_CHILD = "crash.flow.child";
/** The signal the parent waits for (flow workload). */
export const SIGNAL_NAME = "go";

/** What the child process hooks into the task bodies. */
export interface FlowHooks extends PipelineHooks {
  /** A run of task `taskId` began; `label` (`parent`, `child0`, …) names it in points and counts. */
  enter(taskId: string, label: string): void;
}

/** Label of the i-th child in points, counts and reports. */
export const childLabel = (i: number): string => `child${i}`;

/** Stage 1's output: the items, one child each. */
export const planItems = (seed: number, width: number): number[] =>
  Array.from({ length: width }, (_, i) => (seed * 13 + i * 101) % 997);

/** What a child computes from its item in its two steps. */
export const childPart = (item: number, part: number): number => (item * (part + 3) + 17) % 1009;

/** The parent's input. */
export interface FlowInput {
  seed: number;
  width: number;
  /** Wait for the signal (and run the `finish` step) after the join. */
  signal: boolean;
}

/** Builds the parent and child definitions around the child process's hooks. */
export function flowTasks(hooks: FlowHooks) {
  const child = defineTask({
    name: FLOW_CHILD,
    input: z.object({ i: z.number().int().nonnegative(), item: z.number() }),
    result: z.object({ i: z.number(), value: z.number() }),
    events: { tick: z.object({ i: z.number(), n: z.number() }) },
    retry: { maxAttempts: 1 },
    async run({ i, item }, ctx) {
      const label = childLabel(i);
      hooks.enter(ctx.taskId, label);
      ctx.emit("tick", { i, n: 0 });
      const parts: number[] = [];
      for (let part = 0; part < 2; part++) {
        const value = await ctx.step("work", async () => {
          hooks.count(`${label}/work#${part}`);
          hooks.point(`body:${label}/work#${part}`);
          if (part === 0) ctx.emit("tick", { i, n: 1 });
          await pause();
          return childPart(item, part);
        });
        parts.push(value);
        hooks.point(`between:${label}/work#${part}`);
        ctx.emit("tick", { i, n: 2 + part });
      }
      return { i, value: parts.reduce((a, b) => a + b, 0) };
    },
  });

  const parent = defineTask({
    name: FLOW_PARENT,
    input: z.object({
      seed: z.number().int().nonnegative(),
      width: z.number().int().min(1).max(16),
      signal: z.boolean(),
    }),
    result: z.object({
      items: z.array(z.number()),
      values: z.array(z.number()),
      total: z.number(),
      token: z.string().nullable(),
      childIds: z.array(z.string()),
    }),
    events: { stage: z.object({ name: z.string() }) },
    signals: { [SIGNAL_NAME]: z.object({ token: z.string() }) },
    retry: { maxAttempts: 1 },
    async run(input, ctx) {
      hooks.enter(ctx.taskId, "parent");
      ctx.emit("stage", { name: "planning" });
      // Stage 1: the work list, computed once.
      const items = await ctx.step("plan", async () => {
        hooks.count("parent/plan#0");
        hooks.point("body:parent/plan#0");
        ctx.emit("stage", { name: "planned" });
        await pause();
        return planItems(input.seed, input.width);
      });
      hooks.point("between:parent/plan#0");
      // Stage 2: one child per item, all at once; a replay gets the same children back.
      const children = await Promise.all(items.map((item, i) => ctx.spawn(child, { i, item })));
      hooks.point("between:parent/spawned");
      ctx.emit("stage", { name: "spawned" });
      const results = await Promise.all(children.map((c) => c.result()));
      hooks.point("between:parent/joined");
      // Stage 3: the join.
      const total = await ctx.step("join", async () => {
        hooks.count("parent/join#0");
        hooks.point("body:parent/join#0");
        await pause();
        return results.reduce((a, r) => a + r.value, 0);
      });
      hooks.point("between:parent/join#0");
      ctx.emit("stage", { name: "joined" });
      let token: string | null = null;
      if (input.signal) {
        hooks.point("await-signal:parent");
        ({ token } = await ctx.waitForSignal(SIGNAL_NAME));
        hooks.point("between:parent/signalled");
        ctx.emit("stage", { name: "signalled" });
        await ctx.step("finish", async () => {
          hooks.count("parent/finish#0");
          hooks.point("body:parent/finish#0");
          await pause();
        });
        hooks.point("between:parent/finish#0");
      }
      return {
        items,
        values: results.map((r) => r.value),
        total,
        token,
        childIds: children.map((c) => c.taskId),
      };
    },
  });
  return { parent, child };
}

/** A short real wait, so a delayed kill can land while a body is in flight. */

/** Body keys (`label/key`) of a correct run, each of which must run exactly once plus kills in flight. */
export function flowBodyKeys(width: number, signal: boolean): string[] {
  const keys = ["parent/plan#0", "parent/join#0"];
  if (signal) keys.push("parent/finish#0");
  for (let i = 0; i < width; i++) keys.push(`${childLabel(i)}/work#0`, `${childLabel(i)}/work#1`);
  return keys;
}

/** The parent's checkpoint keys by position. */
export function parentCheckpoints(width: number, signal: boolean): string[] {
  const spawns = Array.from({ length: width }, (_, i) => `spawn:${FLOW_CHILD}#${i}`);
  const results = spawns.map((key) => `result:${key}#0`);
  const keys = ["plan#0", ...spawns, ...results, "join#0"];
  if (signal) keys.push(`signal:${SIGNAL_NAME}#0`, "finish#0");
  return keys;
}

/** A child's checkpoint keys by position. */
export const CHILD_CHECKPOINTS = ["work#0", "work#1"] as const;

/** The events the parent itself emits, in order (its `child` bridge events come between them). */
export function parentEmits(signal: boolean): Array<{ name: string; data: unknown }> {
  const names = ["planning", "planned", "spawned", "joined", ...(signal ? ["signalled"] : [])];
  return names.map((name) => ({ name: "stage", data: { name } }));
}

/** The events child `i` emits, in order. */
export const childEmits = (i: number): Array<{ name: string; data: unknown }> =>
  [0, 1, 2, 3].map((n) => ({ name: "tick", data: { i, n } }));

/** Child `i`'s result. */
export function childResult(seed: number, width: number, i: number): { i: number; value: number } {
  const item = planItems(seed, width)[i] ?? 0;
  return { i, value: childPart(item, 0) + childPart(item, 1) };
}

/** The parent's result, without `childIds` (checked against its spawn checkpoints instead). */
export function parentResult(seed: number, width: number, token: string | null) {
  const values = Array.from({ length: width }, (_, i) => childResult(seed, width, i).value);
  return { items: planItems(seed, width), values, total: values.reduce((a, b) => a + b, 0), token };
}
