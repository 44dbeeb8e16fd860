import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import {
  createTaskflow,
  defineTask,
  memoryStore,
  type Taskflow,
  type TaskflowOptions,
  type TaskStore,
} from "@taskwire/core";
import { createTaskwireApp, type TaskwireApp, type TaskwireAppOptions } from "@taskwire/express";
import { pino } from "pino";
import { expect, vi } from "vitest";
import { z } from "zod";

type OnFinished = (fn: () => Promise<void> | void) => void;

/** Identity headers understood by `defaultResolveUser`. */
export const alice = { "x-forwarded-user": "alice", "x-forwarded-access-token": "alice-secret-token" };
export const bob = { "x-forwarded-user": "bob" };

/** A pino logger whose records a test can inspect and await. */
export function captureLogger() {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line) records.push(JSON.parse(line));
      callback();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  const find = (event: string, match: Record<string, unknown> = {}) =>
    records.filter((r) => r.event === event && Object.entries(match).every(([k, v]) => r[k] === v));
  return {
    logger,
    records,
    find,
    /** Resolves with the first record of `event` (matching `match`) once logged. */
    waitFor: (event: string, match: Record<string, unknown> = {}, timeoutMs = 5000) =>
      vi.waitFor(
        () => {
          const record = find(event, match)[0];
          expect(record, `log ${event} ${JSON.stringify(match)}`).toBeDefined();
          return record!;
        },
        { timeout: timeoutMs, interval: 5 },
      ),
    /** The raw log text (to assert secrets never appear). */
    text: () => records.map((r) => JSON.stringify(r)).join("\n"),
  };
}

/** Test-controlled gates the blocking task waits on. */
const gates = new Map<string, { promise: Promise<void>; resolve: () => void }>();
function gate(key: string) {
  let entry = gates.get(key);
  if (!entry) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    entry = { promise, resolve };
    gates.set(key, entry);
  }
  return entry;
}
/** Lets the blocking task with this key finish. */
export const release = (key: string) => gate(key).resolve();
let keys = 0;
/** A fresh gate key. */
export const newKey = () => `gate-${++keys}-${Date.now()}`;

/** Emits `n` ticks (with a BigInt and a Date in each), a step checkpoint after each, and completes. */
export const quickTask = defineTask({
  name: "test.quick",
  input: z.object({ n: z.number().int().min(0).max(1000).default(3) }),
  result: z.object({ n: z.number(), total: z.bigint() }),
  events: { tick: z.object({ i: z.number(), big: z.bigint(), at: z.date() }) },
  async run(input, ctx) {
    for (let i = 1; i <= input.n; i++) {
      ctx.emit("tick", { i, big: 2n ** 60n + BigInt(i), at: new Date(i * 1000) });
      // A checkpoint between events: it stays in the WAL and never takes a visible seq.
      await ctx.step(`after-${i}`, () => i);
    }
    return { n: input.n, total: 2n ** 64n };
  },
});

/** Emits tick 1, waits for its gate (or a cancel), emits tick 2 and completes. */
export const blockingTask = defineTask({
  name: "test.blocking",
  input: z.object({ key: z.string() }),
  result: z.object({ ok: z.boolean(), user: z.string() }),
  events: { tick: z.object({ i: z.number() }) },
  async run(input, ctx) {
    ctx.emit("tick", { i: 1 });
    await new Promise<void>((resolve, reject) => {
      gate(input.key).promise.then(resolve, reject);
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    });
    ctx.emit("tick", { i: 2 });
    return { ok: true, user: ctx.user.userId };
  },
});

/** Emits `count` events of `size` bytes each, then completes. */
export const blobTask = defineTask({
  name: "test.blob",
  input: z.object({ count: z.number().int(), size: z.number().int() }),
  result: z.object({ count: z.number() }),
  events: { blob: z.object({ i: z.number(), pad: z.string() }) },
  async run(input, ctx) {
    const pad = "x".repeat(input.size);
    for (let i = 1; i <= input.count; i++) ctx.emit("blob", { i, pad });
    return { count: input.count };
  },
});

/** Fails its only attempt. */
export const failingTask = defineTask({
  name: "test.failing",
  input: z.object({}),
  result: z.object({}),
  retry: { maxAttempts: 1 },
  async run() {
    throw new Error("the printer is on fire");
  },
});

/** Keys whose flaky task may get past its failure (a retry after `fix(key)` succeeds). */
const fixed = new Set<string>();
/** Lets the flaky task with this key pass its failure point from its next run on. */
export const fix = (key: string) => fixed.add(key);

/**
 * Emits tick 1, then fails (no automatic retry) until `fix(key)`; once fixed, a retry emits tick 2,
 * waits for its gate (or a cancel) and completes with its attempt number.
 */
export const flakyTask = defineTask({
  name: "test.flaky",
  input: z.object({ key: z.string() }),
  result: z.object({ attempt: z.number() }),
  events: { tick: z.object({ i: z.number() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    ctx.emit("tick", { i: 1 });
    if (!fixed.has(input.key)) throw new Error(`flaky ${input.key} is broken`);
    ctx.emit("tick", { i: 2 });
    await new Promise<void>((resolve, reject) => {
      gate(input.key).promise.then(resolve, reject);
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
    });
    return { attempt: ctx.attempt };
  },
});

/** Emits `awaiting`, waits (status `waiting`) for the signal `approve`, and completes with its payload. */
export const approvalTask = defineTask({
  name: "test.approval",
  input: z.object({}),
  result: z.object({ approved: z.boolean(), note: z.string() }),
  events: { awaiting: z.object({}) },
  signals: { approve: z.object({ approved: z.boolean(), note: z.string().default("") }) },
  async run(_input, ctx) {
    ctx.emit("awaiting", {});
    return ctx.waitForSignal("approve");
  },
});

/** Spawns one `test.quick` child per entry of `sizes`, waits for them all, and returns their `n`s. */
export const parentTask = defineTask({
  name: "test.parent",
  input: z.object({ sizes: z.array(z.number().int().min(0)) }),
  result: z.object({ ns: z.array(z.number()) }),
  events: { spawned: z.object({ count: z.number() }) },
  async run(input, ctx) {
    const children = await Promise.all(input.sizes.map((n) => ctx.spawn(quickTask, { n })));
    ctx.emit("spawned", { count: children.length });
    const results = await Promise.all(children.map((child) => child.result()));
    return { ns: results.map((r) => r.n) };
  },
});

export const allTasks = [
  quickTask,
  blockingTask,
  blobTask,
  failingTask,
  flakyTask,
  approvalTask,
  parentTask,
] as const;

export interface Harness {
  taskflow: Taskflow;
  tw: TaskwireApp;
  store: TaskStore;
  log: ReturnType<typeof captureLogger>;
  /** `http://127.0.0.1:<port>` once `listen()` ran. */
  base: string;
  server: import("node:http").Server | undefined;
  listen(): Promise<string>;
}

/** A taskflow on a memory store with every test task, a Taskwire app, closed after the test. */
export async function makeHarness(
  onFinished: OnFinished,
  options: Partial<TaskwireAppOptions> & {
    taskflowOptions?: Partial<TaskflowOptions>;
    store?: TaskStore;
  } = {},
): Promise<Harness> {
  const log = captureLogger();
  const store = options.store ?? memoryStore();
  const taskflow = await createTaskflow({
    store,
    logger: log.logger,
    pollIntervalMs: 20,
    leaseMs: 2000,
    shutdownTimeoutMs: 2000,
    ...options.taskflowOptions,
  });
  for (const task of allTasks) taskflow.task(task);
  const { taskflowOptions: _t, store: _s, ...appOptions } = options;
  const tw = await createTaskwireApp({ taskflow, logger: log.logger, ...appOptions });
  const harness: Harness = {
    taskflow,
    tw,
    store,
    log,
    base: "",
    server: undefined,
    async listen() {
      const server = tw.app.listen(0, "127.0.0.1");
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      harness.server = server;
      harness.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return harness.base;
    },
  };
  onFinished(async () => {
    await tw.close();
    if (harness.server) {
      harness.server.closeAllConnections();
      await new Promise<void>((resolve) => harness.server?.close(() => resolve()));
    }
  });
  return harness;
}

/**
 * Wraps a store so a test can make a method fail: `fail("readEvents", error)` makes its next calls
 * reject (until `heal()`); `watchCount()` reports open event watches.
 */
export function faultyStore(inner: TaskStore = memoryStore()) {
  const failures = new Map<string, unknown>();
  let watches = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const failure = failures.get(String(prop));
        if (failure !== undefined) return Promise.reject(failure);
        if (prop === "watchEvents") {
          watches += 1;
          const unwatch = value.apply(target, args) as () => void;
          let done = false;
          return () => {
            if (!done) watches -= 1;
            done = true;
            unwatch();
          };
        }
        return value.apply(target, args);
      };
    },
  });
  return {
    store,
    fail: (method: keyof TaskStore, error: unknown) => failures.set(method, error),
    heal: () => failures.clear(),
    watchCount: () => watches,
  };
}
