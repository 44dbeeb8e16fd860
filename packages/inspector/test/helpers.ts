import type { AddressInfo } from "node:net";
import { createTaskflow, defineTask, runInUserContext, type Taskflow } from "@taskwire/core";
import { createTaskwireApp, type TaskwireApp } from "@taskwire/express";
import { createInspector, type InspectorAuthorization, type InspectorOptions } from "@taskwire/inspector";
import { sqliteStore } from "@taskwire/sqlite";
import type { Request } from "express";
import { expect, vi } from "vitest";
import { z } from "zod";

type OnFinished = (fn: () => Promise<void> | void) => void;

/** Test-controlled gates the blocking task waits on. */
const gates = new Map<string, () => void>();
const gatePromises = new Map<string, Promise<void>>();
function gate(key: string): Promise<void> {
  let promise = gatePromises.get(key);
  if (!promise) {
    promise = new Promise<void>((resolve) => gates.set(key, resolve));
    gatePromises.set(key, promise);
  }
  return promise;
}
/** Lets the blocking task with this key finish. */
export function release(key: string): void {
  void gate(key);
  gates.get(key)?.();
}

/** Emits tick 1 after a checkpoint, waits for its gate (or a cancel), then completes. */
export const blockingTask = defineTask({
  name: "test.blocking",
  input: z.object({ key: z.string() }),
  result: z.object({ ok: z.boolean() }),
  events: { tick: z.object({ i: z.number() }) },
  async run(input, ctx) {
    await ctx.step("prepare", () => "ready");
    ctx.emit("tick", { i: 1 });
    await new Promise<void>((resolve, reject) => {
      gate(input.key).then(resolve, reject);
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    });
    return { ok: true };
  },
});

/** Fails while its key is not fixed (after one checkpoint); a retry of a fixed one completes. */
const fixed = new Set<string>();
/** Lets the flaky task with this key complete from its next run on. */
export const fix = (key: string) => fixed.add(key);
export const flakyTask = defineTask({
  name: "test.flaky",
  input: z.object({ key: z.string() }),
  result: z.object({ attempt: z.number() }),
  events: { tick: z.object({ i: z.number() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    await ctx.step("load", () => input.key);
    ctx.emit("tick", { i: ctx.attempt });
    if (!fixed.has(input.key)) throw new Error(`flaky ${input.key} is broken`);
    return { attempt: ctx.attempt };
  },
});

/** Waits (status `waiting`) for the signal `approve` and completes with its payload. */
export const approvalTask = defineTask({
  name: "test.approval",
  input: z.object({}),
  result: z.object({ approved: z.boolean() }),
  events: { awaiting: z.object({}) },
  signals: { approve: z.object({ approved: z.boolean() }) },
  async run(_input, ctx) {
    ctx.emit("awaiting", {});
    return ctx.waitForSignal("approve");
  },
});

/** Spawns one `test.flaky` child per key (fixed beforehand by the test) and waits for them. */
export const parentTask = defineTask({
  name: "test.parent",
  input: z.object({ keys: z.array(z.string()) }),
  result: z.object({ count: z.number() }),
  async run(input, ctx) {
    const children = await Promise.all(input.keys.map((key) => ctx.spawn(flakyTask, { key })));
    await Promise.all(children.map((child) => child.result()));
    return { count: children.length };
  },
});

/**
 * The test's authorization hook, driven by headers: `x-test-user: <id>` grants that owner,
 * `x-test-operator: 1` the operator (`x-test-show-owners: 1` shows owners), `x-test-deny: 1` is `false`
 * (403), and nothing is `null` (401).
 */
export function headerAuthorize(req: Request): InspectorAuthorization {
  if (req.get("x-test-deny") === "1") return false;
  if (req.get("x-test-operator") === "1")
    return { all: true, showOwners: req.get("x-test-show-owners") === "1" };
  const user = req.get("x-test-user");
  return user ? { owner: user } : null;
}

export const alice = { "x-test-user": "alice" };
export const bob = { "x-test-user": "bob" };
export const operator = { "x-test-operator": "1" };
/** The CSRF header every action needs. */
export const action = { "X-Taskwire-Inspector": "1" };

export interface Harness {
  taskflow: Taskflow;
  tw: TaskwireApp;
  /** `http://127.0.0.1:<port>` once `listen()` ran. */
  base: string;
  listen(): Promise<string>;
  /** Starts a task as `userId` (as the app would, in their user context). */
  startAs(userId: string, task: TaskDef, input: unknown): Promise<string>;
  /** Resolves once the task has `status` (read as the service principal). */
  waitForStatus(taskId: string, status: string): Promise<void>;
}

type TaskDef = typeof blockingTask | typeof flakyTask | typeof approvalTask | typeof parentTask;

/**
 * A real app over an in-memory SQLite store with the inspector mounted at `/inspector` behind
 * {@link headerAuthorize} (or `authorize` from `options`); closed when the test finishes.
 */
export async function makeHarness(
  onFinished: OnFinished,
  options: Partial<Omit<InspectorOptions, "tw" | "bridge">> = {},
): Promise<Harness> {
  // Loggers are silent under vitest (NODE_ENV=test).
  const taskflow = await createTaskflow({ store: sqliteStore({ path: ":memory:" }), pollIntervalMs: 50 });
  for (const def of [blockingTask, flakyTask, approvalTask, parentTask]) taskflow.task(def);
  const tw = await createTaskwireApp({ taskflow, sse: { heartbeatMs: 60_000, retryMs: 100 } });
  tw.app.use("/inspector", createInspector({ tw, authorize: headerAuthorize, ...options }));
  let server: ReturnType<typeof tw.app.listen> | undefined;
  const harness: Harness = {
    taskflow,
    tw,
    base: "",
    listen: () =>
      new Promise((resolve) => {
        server = tw.app.listen(0, "127.0.0.1", () => {
          harness.base = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
          resolve(harness.base);
        });
      }),
    startAs: async (userId, task, input) =>
      (await runInUserContext({ userId }, () => taskflow.start(task as typeof blockingTask, input as never)))
        .taskId,
    waitForStatus: (taskId, status) =>
      vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe(status), {
        timeout: 5000,
        interval: 10,
      }),
  };
  onFinished(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await tw.close();
  });
  return harness;
}
