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

/** A taskflow with the paced task behind a Taskwire app (fast `retry:`), listening; closed after. */
export async function pacedServer(
  onFinished: OnFinished,
  options: Partial<TaskwireAppOptions> = {},
): Promise<{ taskflow: Taskflow; tw: TaskwireApp; http: Listening }> {
  const logger = pino({ level: "silent" });
  const taskflow = await createTaskflow({ store: memoryStore(), logger, pollIntervalMs: 20 });
  taskflow.task(pacedTask);
  taskflow.task(blobTask);
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
