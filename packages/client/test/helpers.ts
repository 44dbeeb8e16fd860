import type { AddressInfo, Server, Socket } from "node:net";
import { createTaskflow, defineTask, memoryStore, type Taskflow } from "@taskwire/core";
import { createTaskwireApp, type TaskwireApp, type TaskwireAppOptions } from "@taskwire/express";
import { pino } from "pino";
import { z } from "zod";
import { createQuickstart } from "../../../examples/quickstart/src/app";

type OnFinished = (fn: () => Promise<void> | void) => void;

/** The identity the default resolver (and the quickstart's fallback) accepts. */
export const alice = { "x-forwarded-user": "alice" };
export const bob = { "x-forwarded-user": "bob" };

/**
 * Test-controlled pacing: the paced task emits tick `i` only once `allow(key, i)` (or more) was called,
 * so a test decides exactly where the stream is when it breaks the connection.
 */
const pacers = new Map<string, { allowed: number; waiters: Array<() => void> }>();
function pacer(key: string) {
  let entry = pacers.get(key);
  if (!entry) {
    entry = { allowed: 0, waiters: [] };
    pacers.set(key, entry);
  }
  return entry;
}
/** Lets the paced task with `key` emit up to tick `n`. */
export function allow(key: string, n: number): void {
  const entry = pacer(key);
  entry.allowed = Math.max(entry.allowed, n);
  for (const wake of entry.waiters.splice(0)) wake();
}
function turn(key: string, i: number, signal: AbortSignal): Promise<void> {
  const entry = pacer(key);
  return new Promise((resolve, reject) => {
    const check = () => {
      if (signal.aborted) reject(signal.reason);
      else if (entry.allowed >= i) resolve();
      else entry.waiters.push(check);
    };
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    check();
  });
}
let keys = 0;
/** A fresh pacing key. */
export const newKey = (): string => `pace-${++keys}-${Date.now()}`;

/** Emits `ticks` ticks (a BigInt and a Date in each) as the test allows, then completes. */
export const pacedTask = defineTask({
  name: "client.paced",
  input: z.object({ key: z.string(), ticks: z.number().int().min(1).max(100).default(5) }),
  result: z.object({ ticks: z.number(), total: z.bigint(), user: z.string() }),
  events: { tick: z.object({ i: z.number(), big: z.bigint(), at: z.date() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    for (let i = 1; i <= input.ticks; i++) {
      await turn(input.key, i, ctx.signal);
      ctx.emit("tick", { i, big: 2n ** 64n + BigInt(i), at: new Date(i * 1000) });
    }
    return { ticks: input.ticks, total: 2n ** 64n, user: ctx.user.userId };
  },
});

/** Emits `count` events of `size` bytes each, then completes (enough bytes to fill socket buffers). */
export const blobTask = defineTask({
  name: "client.blob",
  input: z.object({ count: z.number().int(), size: z.number().int() }),
  result: z.object({ count: z.number() }),
  events: { blob: z.object({ i: z.number(), pad: z.string() }) },
  async run(input, ctx) {
    const pad = "x".repeat(input.size);
    for (let i = 1; i <= input.count; i++) ctx.emit("blob", { i, pad });
    return { count: input.count };
  },
});

/** Keys whose flaky task may get past its failure point (a retry after `fix(key)` completes). */
const fixed = new Set<string>();
/** Lets the flaky task with this key pass its failure point from its next run on. */
export const fix = (key: string): void => {
  fixed.add(key);
};

/** Emits tick 1, then fails (no automatic retry) until `fix(key)`; a retry then emits tick 2 and completes. */
export const flakyTask = defineTask({
  name: "client.flaky",
  input: z.object({ key: z.string() }),
  result: z.object({ attempt: z.number() }),
  events: { tick: z.object({ i: z.number() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    ctx.emit("tick", { i: 1 });
    if (!fixed.has(input.key)) throw new Error(`flaky ${input.key} is broken`);
    ctx.emit("tick", { i: 2 });
    return { attempt: ctx.attempt };
  },
});

/** Emits `awaiting`, waits for the signal `approve` (or `comment`s first), and completes with the decision. */
export const approvalTask = defineTask({
  name: "client.approval",
  input: z.object({ comments: z.number().int().min(0).default(0) }),
  result: z.object({ approved: z.boolean(), comments: z.array(z.string()) }),
  events: { awaiting: z.object({}) },
  signals: {
    approve: z.object({ approved: z.boolean() }),
    comment: z.object({ text: z.string(), at: z.coerce.date() }),
  },
  async run(input, ctx) {
    ctx.emit("awaiting", {});
    const comments: string[] = [];
    for (let i = 0; i < input.comments; i++) comments.push((await ctx.waitForSignal("comment")).text);
    const { approved } = await ctx.waitForSignal("approve");
    return { approved, comments };
  },
});

/** Returns its input doubled (a child of `client.parent`). */
export const doubleTask = defineTask({
  name: "client.double",
  input: z.object({ n: z.number() }),
  result: z.object({ n: z.number() }),
  async run(input) {
    return { n: input.n * 2 };
  },
});

/** Spawns one `client.double` child per number and sums their results. */
export const parentTask = defineTask({
  name: "client.parent",
  input: z.object({ ns: z.array(z.number()) }),
  result: z.object({ sum: z.number() }),
  async run(input, ctx) {
    const children = await Promise.all(input.ns.map((n) => ctx.spawn(doubleTask, { n })));
    const results = await Promise.all(children.map((child) => child.result()));
    return { sum: results.reduce((sum, r) => sum + r.n, 0) };
  },
});

/** The app's tasks by name, as an app exports them for `createTaskClient<typeof tasks>()`. */
export const tasks = {
  "client.paced": pacedTask,
  "client.flaky": flakyTask,
  "client.approval": approvalTask,
  "client.parent": parentTask,
} as const;

/** A listening server with its open sockets, closed after the test. */
export interface Listening {
  base: string;
  server: Server;
  sockets: Set<Socket>;
  /** Destroys every open connection from the server side (a dropped connection, as the client sees it). */
  dropConnections(): void;
}

/** Listens on an ephemeral port; keeps track of sockets; closes everything after the test. */
export async function listen(app: TaskwireApp["app"], onFinished: OnFinished): Promise<Listening> {
  const server = app.listen(0, "127.0.0.1");
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  onFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    sockets,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** A taskflow with the test tasks behind a Taskwire app (fast `retry:`), listening; closed after. */
export async function pacedServer(
  onFinished: OnFinished,
  options: Partial<TaskwireAppOptions> = {},
): Promise<{ taskflow: Taskflow; tw: TaskwireApp; http: Listening }> {
  const logger = pino({ level: "silent" });
  const taskflow = await createTaskflow({ store: memoryStore(), logger, pollIntervalMs: 20 });
  for (const task of [pacedTask, blobTask, flakyTask, approvalTask, doubleTask, parentTask])
    taskflow.task(task);
  const tw = await createTaskwireApp({ taskflow, logger, sse: { retryMs: 10 }, ...options });
  const http = await listen(tw.app, onFinished);
  onFinished(() => tw.close());
  return { taskflow, tw, http };
}

/** The quickstart app on a memory store, listening; closed after the test. */
export async function quickstartServer(onFinished: OnFinished): Promise<Listening & { tw: TaskwireApp }> {
  const { app, tw } = await createQuickstart({ store: memoryStore(), logger: pino({ level: "silent" }) });
  const http = await listen(app, onFinished);
  onFinished(() => tw.close());
  return { ...http, tw };
}

/** A `fetch` that records each request's method, URL and `Last-Event-ID` before sending it. */
export function recordingFetch(route: (url: string) => string = (url) => url) {
  const requests: Array<{ method: string; url: string; lastEventId: string | null }> = [];
  const statuses: number[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const url = route(String(input));
    requests.push({
      method: init?.method ?? "GET",
      url,
      lastEventId: new Headers(init?.headers).get("Last-Event-ID"),
    });
    const response = await fetch(url, init);
    statuses.push(response.status);
    return response;
  };
  return { fetch: fetchFn, requests, statuses };
}
