import { AsyncLocalStorage } from "node:async_hooks";
import type { EventRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  emitted,
  event,
  type Kit,
  openKit,
  ring,
  type Suite,
  T0,
  TERMINAL_DATA,
  untilRung,
} from "./conformance.kit";

/** Watches `taskId`; `until(names)` resolves once a ring is followed by a read of exactly those events. */
function watchUntilReadable(kit: Kit, taskId: string) {
  const bell = ring(kit.ringTimeoutMs, "watchEvents ring");
  const unwatch = kit.store.watchEvents(taskId, bell.fn);
  const until = (names: string[]) =>
    untilRung(
      bell,
      async () => (await kit.store.readEvents(taskId, 0, 100)).map((e) => e.name).join() === names.join(),
      kit.ringTimeoutMs,
      `a ring after events [${names}] became readable`,
    );
  return { bell, unwatch, until };
}

/** `watchEvents` and `watchCancels`: doorbells. A test only ever waits on a ring with a deadline. */
export function watchConformance(suite: Suite): void {
  describe("watchEvents", () => {
    it("rings after appendEvent, once the event is readable", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      // Reads started by the ring itself: the ring for an append comes after the event is readable.
      const reads: Array<Promise<EventRecord[]>> = [];
      const bell = ring(kit.ringTimeoutMs, "watchEvents ring");
      const unwatch = kit.store.watchEvents(task.id, () => {
        reads.push(kit.store.readEvents(task.id, 0, 10));
        bell.fn();
      });
      try {
        await kit.store.appendEvent(lease, emitted(0));
        await untilRung(
          bell,
          async () => (await reads.at(-1))?.length === 1,
          kit.ringTimeoutMs,
          "a ring whose read sees the event",
        );
        expect(await reads.at(-1)).toEqual([event(1)]);
      } finally {
        unwatch();
      }
    });

    it("rings after a terminal settle", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const watch = watchUntilReadable(kit, task.id);
      try {
        await kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 1);
        await watch.until(["completed"]);
      } finally {
        watch.unwatch();
      }
    });

    it("rings after a cancel settles a queued task", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const watch = watchUntilReadable(kit, task.id);
      try {
        await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
        await watch.until(["cancelled"]);
      } finally {
        watch.unwatch();
      }
    });

    it("rings for every append: a ring is never missed", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const watch = watchUntilReadable(kit, task.id);
      try {
        const names: string[] = [];
        for (let seq = 1; seq <= 3; seq++) {
          await kit.store.appendEvent(lease, emitted(seq - 1, `e${seq}`));
          names.push(`e${seq}`);
          await watch.until(names);
        }
      } finally {
        watch.unwatch();
      }
    });

    it("stops ringing once unwatched; unwatch is idempotent", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const stopped = ring(kit.ringTimeoutMs, "unwatched ring");
      const unwatch = kit.store.watchEvents(task.id, stopped.fn);
      // A sentinel, still watching, proves the rings went out while the unwatched callback saw none.
      const sentinel = watchUntilReadable(kit, task.id);
      try {
        unwatch();
        unwatch();
        await kit.store.appendEvent(lease, emitted(0));
        await sentinel.until(["progress"]);
        await kit.store.appendEvent(lease, emitted(1));
        await sentinel.until(["progress", "progress"]);
        expect(stopped.calls).toHaveLength(0);
      } finally {
        sentinel.unwatch();
      }
    });

    it("never rings in the writer's async context: the callback runs in the watcher's own", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const als = new AsyncLocalStorage<string>();
      const bell = ring<[string | undefined]>(kit.ringTimeoutMs, "watchEvents ring");
      const unwatch = als.run("watcher", () => kit.store.watchEvents(task.id, () => bell.fn(als.getStore())));
      try {
        await als.run("writer", () => kit.store.appendEvent(lease, emitted(0)));
        await bell.next(1);
        await als.run("settler", () =>
          kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 1),
        );
        await untilRung(bell, () => bell.calls.length >= 2, kit.ringTimeoutMs, "a ring after settle");
        expect(bell.calls.map(([context]) => context)).toEqual(bell.calls.map(() => "watcher"));
      } finally {
        unwatch();
      }
    });
  });

  describe("watchCancels", () => {
    /** Watches cancels of this test's tasks only (a shared backing store may carry other tests' cancels). */
    function watchCancelsOf(kit: Kit, ids: Set<string>, label: string) {
      const calls = ring<[string]>(kit.ringTimeoutMs, label);
      const unwatch = kit.store.watchCancels((taskId) => {
        if (ids.has(taskId)) calls.fn(taskId);
      });
      return { calls, unwatch };
    }

    it("calls onCancel(taskId) when a cancel is requested for a running task", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      const watch = watchCancelsOf(kit, new Set([task.id]), "onCancel");
      try {
        await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
        expect(await watch.calls.next(1)).toEqual([task.id]);
      } finally {
        watch.unwatch();
      }
    });

    it("stops calling once unwatched; unwatch is idempotent", async () => {
      const kit = await openKit(suite);
      const ids = new Set<string>();
      const stopped = watchCancelsOf(kit, ids, "unwatched onCancel");
      const sentinel = watchCancelsOf(kit, ids, "sentinel onCancel");
      try {
        stopped.unwatch();
        stopped.unwatch();
        for (let i = 1; i <= 2; i++) {
          const { task } = await kit.running();
          ids.add(task.id);
          await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
          expect(await sentinel.calls.next(i)).toEqual([task.id]);
        }
        expect(stopped.calls.calls).toHaveLength(0);
      } finally {
        sentinel.unwatch();
      }
    });

    it("calls onCancel asynchronously, in the watcher's async context, never in the requester's", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      const als = new AsyncLocalStorage<string>();
      const calls = ring<[string | undefined]>(kit.ringTimeoutMs, "onCancel context");
      const unwatch = als.run("watcher", () =>
        kit.store.watchCancels((taskId) => {
          if (taskId === task.id) calls.fn(als.getStore());
        }),
      );
      try {
        await als.run("requester", async () => {
          const pending = kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
          expect(calls.calls).toHaveLength(0); // not inside the requester's call
          await pending;
        });
        expect(await calls.next(1)).toEqual(["watcher"]);
      } finally {
        unwatch();
      }
    });
  });
}
