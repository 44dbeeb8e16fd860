import { defineTask } from "@taskwire/core";
import { z } from "zod";

/**
 * The chaos workload: a plain task (several steps, events before, inside and after them), and a flow —
 * a parent that runs two steps, spawns 1-3 children (each with two steps and events), waits for them,
 * joins their results in a step, waits for the signal `go` and runs a last step. Every step body first
 * records itself in the side-effect ledger (outside the database) and returns its process id beside its
 * value, so the checkpoint says which process's run committed. Everything emitted or returned (but the
 * pid) is a pure function of the input and the signal's token: the verifier computes the exact WAL.
 */

/** Name of the plain task. */
export const PLAIN_TASK = "chaos.plain";
/** Name of the parent task (the flow). */
export const PARENT_TASK = "chaos.parent";
/** Name of the parent's child task. */
export const CHILD_TASK = "chaos.child";
/** The signal every parent waits for. */
export const SIGNAL_NAME = "go";

/** What a node hooks into the task bodies. */
export interface ChaosHooks {
  /** A step body began: appended to the ledger synchronously, before the body does anything else. */
  ran(taskId: string, key: string): void;
  /** The parent is about to call `ctx.spawn` for child `i` (every replay calls it again). */
  spawning(taskId: string, i: number): void;
}

/** A plain task's input. */
export interface PlainInput {
  n: number;
  steps: number;
  ms: number;
}
/** A parent's input. */
export interface ParentInput {
  n: number;
  width: number;
  ms: number;
}
/** A child's input (built by the parent from its `plan` step). */
export interface ChildInput {
  i: number;
  item: number;
  ms: number;
}

/** An event as the verifier expects it in the WAL (and a client on the wire). */
export interface ExpectedEvent {
  name: string;
  data: unknown;
}

/** A deterministic value per (n, i). */
export const stepValue = (n: number, i: number): number => (n * 31 + i * 977 + 7) % 10_007;
/** The parent's items (one child each). */
export const planItems = (n: number, width: number): number[] =>
  Array.from({ length: width }, (_, i) => (n * 13 + i * 101) % 997);
/** What child `i` computes in its step `work#part`. */
export const childPart = (item: number, part: number): number => (item * (part + 3) + 17) % 1009;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Builds the three task definitions around a node's hooks. */
export function chaosTasks(hooks: ChaosHooks) {
  /** A step body: ledger line first, then the caller's work, a real pause (a kill can land in it), then `{ pid, value }`. */
  const body =
    <T>(taskId: string, key: string, ms: number, work: () => T) =>
    async () => {
      hooks.ran(taskId, key);
      const value = work();
      await sleep(ms);
      return { pid: process.pid, value };
    };

  const plain = defineTask({
    name: PLAIN_TASK,
    input: z.object({ n: z.number().int(), steps: z.number().int().min(1).max(8), ms: z.number().int() }),
    result: z.object({ n: z.number(), values: z.array(z.number()), total: z.number() }),
    events: { progress: z.object({ i: z.number(), phase: z.string() }) },
    retry: { maxAttempts: 1 },
    async run({ n, steps, ms }, ctx) {
      const values: number[] = [];
      for (let i = 0; i < steps; i++) {
        ctx.emit("progress", { i, phase: "before" });
        const { value } = await ctx.step(
          "work",
          body(ctx.taskId, `work#${i}`, ms, () => {
            if (i % 2 === 0) ctx.emit("progress", { i, phase: "inside" });
            return stepValue(n, i);
          }),
        );
        values.push(value);
      }
      ctx.emit("progress", { i: steps, phase: "done" });
      return { n, values, total: values.reduce((a, b) => a + b, 0) };
    },
  });

  const child = defineTask({
    name: CHILD_TASK,
    input: z.object({ i: z.number().int().nonnegative(), item: z.number(), ms: z.number().int() }),
    result: z.object({ i: z.number(), value: z.number() }),
    events: { tick: z.object({ i: z.number(), n: z.number() }) },
    retry: { maxAttempts: 1 },
    async run({ i, item, ms }, ctx) {
      ctx.emit("tick", { i, n: 0 });
      let value = 0;
      for (let part = 0; part < 2; part++) {
        const out = await ctx.step(
          "work",
          body(ctx.taskId, `work#${part}`, ms, () => {
            if (part === 0) ctx.emit("tick", { i, n: 1 });
            return childPart(item, part);
          }),
        );
        value += out.value;
        ctx.emit("tick", { i, n: 2 + part });
      }
      return { i, value };
    },
  });

  const parent = defineTask({
    name: PARENT_TASK,
    input: z.object({ n: z.number().int(), width: z.number().int().min(1).max(8), ms: z.number().int() }),
    result: z.object({
      items: z.array(z.number()),
      values: z.array(z.number()),
      total: z.number(),
      token: z.string(),
      digest: z.number(),
    }),
    events: { stage: z.object({ name: z.string() }) },
    signals: { [SIGNAL_NAME]: z.object({ token: z.string() }) },
    retry: { maxAttempts: 1 },
    async run({ n, width, ms }, ctx) {
      ctx.emit("stage", { name: "planning" });
      const { value: items } = await ctx.step(
        "plan",
        body(ctx.taskId, "plan#0", ms, () => {
          ctx.emit("stage", { name: "planned" });
          return planItems(n, width);
        }),
      );
      await ctx.step(
        "prepare",
        body(ctx.taskId, "prepare#0", ms, () => stepValue(n, 100)),
      );
      const children = await Promise.all(
        items.map((item, i) => {
          hooks.spawning(ctx.taskId, i);
          return ctx.spawn(child, { i, item, ms });
        }),
      );
      ctx.emit("stage", { name: "spawned" });
      const results = await Promise.all(children.map((c) => c.result()));
      const { value: total } = await ctx.step(
        "join",
        body(ctx.taskId, "join#0", ms, () => results.reduce((a, r) => a + r.value, 0)),
      );
      ctx.emit("stage", { name: "joined" });
      const { token } = await ctx.waitForSignal(SIGNAL_NAME);
      ctx.emit("stage", { name: "signalled" });
      const { value: digest } = await ctx.step(
        "finish",
        body(ctx.taskId, "finish#0", ms, () => (total * 7 + token.length) % 1009),
      );
      return { items, values: results.map((r) => r.value), total, token, digest };
    },
  });

  return { plain, child, parent };
}

/** The step-body keys a correct run of each task commits (and runs once each, kills in flight aside). */
export function bodyKeys(name: string, input: { steps?: number }): string[] {
  if (name === PLAIN_TASK) return Array.from({ length: input.steps ?? 0 }, (_, i) => `work#${i}`);
  if (name === CHILD_TASK) return ["work#0", "work#1"];
  if (name === PARENT_TASK) return ["plan#0", "prepare#0", "join#0", "finish#0"];
  return [];
}

/** The events a plain task emits, in order (its terminal `completed` follows). */
export function plainEmits({ steps }: PlainInput): ExpectedEvent[] {
  const out: ExpectedEvent[] = [];
  for (let i = 0; i < steps; i++) {
    out.push({ name: "progress", data: { i, phase: "before" } });
    if (i % 2 === 0) out.push({ name: "progress", data: { i, phase: "inside" } });
  }
  out.push({ name: "progress", data: { i: steps, phase: "done" } });
  return out;
}

/** A plain task's result. */
export function plainResult({ n, steps }: PlainInput) {
  const values = Array.from({ length: steps }, (_, i) => stepValue(n, i));
  return { n, values, total: values.reduce((a, b) => a + b, 0) };
}

/** The events child `i` emits, in order. */
export const childEmits = ({ i }: Pick<ChildInput, "i">): ExpectedEvent[] =>
  [0, 1, 2, 3].map((n) => ({ name: "tick", data: { i, n } }));

/** Child `i`'s result. */
export const childResult = ({ i, item }: ChildInput) => ({
  i,
  value: childPart(item, 0) + childPart(item, 1),
});

/** The events a parent emits itself, in order (its `child` bridge events come between them). */
export const parentEmits = (): ExpectedEvent[] =>
  ["planning", "planned", "spawned", "joined", "signalled"].map((name) => ({
    name: "stage",
    data: { name },
  }));

/** A parent's result, given the token of the signal it consumed. */
export function parentResult({ n, width, ms }: ParentInput, token: string) {
  const items = planItems(n, width);
  const values = items.map((item, i) => childResult({ i, item, ms }).value);
  const total = values.reduce((a, b) => a + b, 0);
  return { items, values, total, token, digest: (total * 7 + token.length) % 1009 };
}
