import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ClientErrorCode, createTaskClient, isTaskwireClientError } from "@taskwire/client";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, allow, newKey, pacedServer, type pacedTask } from "./helpers";

type Paced = typeof pacedTask;

/** A URL nothing listens on (a port that was just released). */
async function deadBase(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/api`;
}

describe("stopping", () => {
  it("an aborted signal ends the iteration and result at once, and closes the server's stream", async () => {
    const { tw, http } = await pacedServer(onTestFinished);
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    const { taskId } = await client.start<Paced>("client.paced", { key, ticks: 3 });
    allow(key, 1); // tick 2 never comes: only the abort can end this subscription
    const controller = new AbortController();
    const sub = client.subscribe(taskId, { signal: controller.signal });
    const seqs: number[] = [];
    const iteration = (async () => {
      for await (const event of sub) {
        seqs.push(event.seq);
        controller.abort();
      }
    })();
    await expect(iteration).rejects.toMatchObject({ name: "AbortError" });
    await expect(sub.result).rejects.toMatchObject({ name: "AbortError" });
    expect(seqs).toEqual([1]);
    await vi.waitFor(
      () => expect(tw.bridge.stats().openStreams, "the server to see the stream closed").toBe(0),
      { timeout: 2000, interval: 5 },
    );
  });

  it("an abort during the reconnect backoff clears the timer and rejects at once", async () => {
    const client = createTaskClient({ baseUrl: await deadBase() });
    const controller = new AbortController();
    // Watch only the backoff timer (15–30 s: capped and jittered): other timers of the process come and go meanwhile.
    const armed: unknown[] = [];
    const cleared: unknown[] = [];
    const realSet = globalThis.setTimeout;
    const realClear = globalThis.clearTimeout;
    const setSpy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((fn: () => void, ms?: number) => {
      const timer = realSet(fn, ms);
      if ((ms ?? 0) >= 10_000) armed.push(timer);
      return timer;
    }) as typeof setTimeout);
    const clearSpy = vi.spyOn(globalThis, "clearTimeout").mockImplementation(((timer?: NodeJS.Timeout) => {
      cleared.push(timer);
      realClear(timer);
    }) as typeof clearTimeout);
    onTestFinished(() => {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    });
    let scheduled!: () => void;
    const backoff = new Promise<void>((resolve) => {
      scheduled = resolve;
    });
    const sub = client.subscribe("t-1", {
      signal: controller.signal,
      reconnect: { initialDelayMs: 60_000 },
      onReconnect: () => scheduled(),
    });
    await backoff;
    await vi.waitFor(() => expect(armed).toHaveLength(1)); // the sleep's timer is now armed
    const started = Date.now();
    controller.abort();
    await expect(sub.result).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(cleared).toContain(armed[0]);
  });

  it("breaking out of the iteration closes the subscription (result rejects SUBSCRIPTION_CLOSED)", async () => {
    const { tw, http } = await pacedServer(onTestFinished);
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    const { taskId } = await client.start<Paced>("client.paced", { key, ticks: 3 });
    allow(key, 1);
    const sub = client.subscribe(taskId);
    for await (const event of sub) if (event.seq === 1) break;
    await expect(sub.result).rejects.toMatchObject({ code: ClientErrorCode.SUBSCRIPTION_CLOSED });
    await vi.waitFor(
      () => expect(tw.bridge.stats().openStreams, "the server to see the stream closed").toBe(0),
      { timeout: 2000, interval: 5 },
    );
    expect(() => sub[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it("gives up after maxAttempts consecutive network failures with NETWORK_ERROR", async () => {
    const client = createTaskClient({ baseUrl: await deadBase() });
    const attempts: Array<[number, number]> = [];
    const sub = client.subscribe("t-1", {
      afterSeq: 4,
      reconnect: { initialDelayMs: 1, maxAttempts: 2 },
      onReconnect: (attempt, lastSeq) => attempts.push([attempt, lastSeq]),
    });
    const error = await sub.result.catch((e: unknown) => e);
    expect(isTaskwireClientError(error, ClientErrorCode.NETWORK_ERROR)).toBe(true);
    expect(attempts).toEqual([
      [1, 4],
      [2, 4],
    ]);
  });
});

describe("start options and limits", () => {
  it("an idempotency key attaches a second start to the first run", async () => {
    const { http } = await pacedServer(onTestFinished);
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    const first = await client.start<Paced>("client.paced", { key, ticks: 1 }, { idempotencyKey: key });
    const second = await client.start<Paced>("client.paced", { key, ticks: 1 }, { idempotencyKey: key });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ taskId: first.taskId, created: false });
    const conflict = await client
      .start<Paced>("client.paced", { key, ticks: 2 }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", status: 409 });
    allow(key, 1);
  });

  it("debounce: starts of one key fold into one task; a malformed option is a 400 naming the header", async () => {
    const { tw, http } = await pacedServer(onTestFinished);
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    const debounce = { key, periodMs: 60_000, maxWaitMs: 120_000 };
    const first = await client.start<Paced>("client.paced", { key, ticks: 1 }, { debounce });
    const second = await client.start<Paced>("client.paced", { key, ticks: 2 }, { debounce });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ taskId: first.taskId, created: false });
    expect(JSON.parse((await tw.taskflow.store.getTask(first.taskId))!.input)).toMatchObject({ ticks: 2 });
    const bad = await client
      .start<Paced>("client.paced", { key, ticks: 1 }, { debounce: { key, periodMs: 10, maxWaitMs: 5 } })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, details: { field: "Debounce-Max-Wait-Ms" } });
    await tw.taskflow.cancel(first.taskId);
  });

  it("exposes a 429's Retry-After as retryAfterMs", async () => {
    const { http } = await pacedServer(onTestFinished, {
      limits: { maxActiveTasksPerOwner: 1, retryAfterSeconds: 2 },
    });
    const client = createTaskClient({ baseUrl: `${http.base}/api`, headers: alice });
    const key = newKey();
    await client.start<Paced>("client.paced", { key, ticks: 1 });
    const error = await client.start<Paced>("client.paced", { key, ticks: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "BACKPRESSURE", status: 429, retryAfterMs: 2000 });
    allow(key, 1);
  });
});
