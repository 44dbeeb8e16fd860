import type { Taskflow } from "@taskwire/core";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StreamResult } from "../sse/stream-task-events";
import { WatcherRegistry } from "./watcher-registry";

const GRACE = 100;

/** A registry over a stub taskflow whose task is still running; `cancels` records cancel calls. */
function setup() {
  const cancels: string[] = [];
  const taskflow = {
    get: async (taskId: string) => ({ taskId, status: "running" }),
    cancel: async (taskId: string) => {
      cancels.push(taskId);
      return { taskId, status: "running", outcome: "requested" };
    },
  } as unknown as Taskflow;
  const registry = new WatcherRegistry(taskflow, pino({ level: "silent" }));
  registry.protect("t1", { graceMs: GRACE, asOwner: (fn) => fn() });
  return { registry, cancels };
}

const ended = (outcome: StreamResult["outcome"], code?: StreamResult["code"]): StreamResult => ({
  outcome,
  lastSeq: 1,
  ...(code === undefined ? {} : { code }),
});

describe("WatcherRegistry: how a stream's end detaches its watcher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ["the client disconnected", ended("disconnected")],
    ["a slow consumer was interrupted", ended("interrupted", "slow_consumer")],
    ["the stream failed", ended("interrupted", "internal")],
    ["the stream never ran", undefined],
  ])("cancels after the grace when %s", async (_what, result) => {
    const { registry, cancels } = setup();
    registry.attach("t1")(result);
    expect(registry.stats().pendingCancels).toBe(1);
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(cancels).toEqual(["t1"]);
    expect(registry.stats()).toEqual({ watchedTasks: 0, watchers: 0, pendingCancels: 0 });
  });

  it.each([
    ["the terminal frame was delivered", ended("completed")],
    ["the resume was past the terminal event", ended("already_finished")],
    ["the server is shutting down", ended("interrupted", "server_shutting_down")],
  ])("never cancels when %s", async (_what, result) => {
    const { registry, cancels } = setup();
    registry.attach("t1")(result);
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(cancels).toEqual([]);
    expect(registry.stats()).toEqual({ watchedTasks: 0, watchers: 0, pendingCancels: 0 });
  });

  it("waits for every watcher (a starting request and its stream) and counts each detach once", async () => {
    const { registry, cancels } = setup();
    const hold = registry.attach("t1");
    const stream = registry.attach("t1");
    stream(ended("disconnected"));
    stream(ended("disconnected"));
    expect(registry.stats()).toMatchObject({ watchers: 1, pendingCancels: 0 });
    hold(ended("disconnected"));
    expect(registry.stats().pendingCancels).toBe(1);
    registry.attach("t1"); // a reconnect within the grace calls the cancel off
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(cancels).toEqual([]);
  });
});
