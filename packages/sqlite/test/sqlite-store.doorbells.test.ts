import { AsyncLocalStorage } from "node:async_hooks";
import type { Lease } from "@taskwire/core/store";
import { describe, expect, it, vi } from "vitest";
import { newTask, openStore } from "./helpers";

const running = { claimFor: { workerId: "w", leaseMs: 60_000 } };

describe("in-process doorbells", () => {
  it("rings event and cancel watchers after the commit, outside the writer's call and context, even when a read flushed it", async () => {
    const store = await openStore({ path: ":memory:" });
    const { lease } = (await store.createTask(newTask(running))) as { lease: Lease };
    const als = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    als.run("watcher", () => {
      store.watchEvents(lease.taskId, () => seen.push(`event in ${als.getStore()}`));
      store.watchCancels((id) => seen.push(`cancel ${id === lease.taskId} in ${als.getStore()}`));
    });
    await als.run("writer", async () => {
      const append = store.appendEvent(lease, { position: 0, name: "progress", data: "{}", at: 1 });
      const cancel = store.requestCancel(lease.taskId, 2, "{}");
      // This read commits the queued writes synchronously, inside this call: nothing may ring here.
      const read = store.getTask(lease.taskId);
      expect(seen).toEqual([]);
      await Promise.all([append, cancel, read]);
    });
    await vi.waitFor(() => expect(seen, "both rings").toHaveLength(2), { timeout: 2_000, interval: 5 });
    expect(seen.sort()).toEqual(["cancel true in watcher", "event in watcher"]);
  });
});
