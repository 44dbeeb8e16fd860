import { AsyncLocalStorage } from "node:async_hooks";
import { encode, NEVER_DUE } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  failedTask,
  finishChild,
  isQueued,
  parentWithChild,
  park,
  spawnSpec,
  watchWorkOf,
} from "./conformance.flows.kit";
import { openKit, ring, type Suite, T0, TERMINAL_DATA } from "./conformance.kit";

/** `watchWork`: the doorbell for tasks made claimable by a wake-up. A test only waits on a ring with a deadline. */
export function watchWorkConformance(suite: Suite): void {
  describe("watchWork", () => {
    it("rings after spawnChild, once the child is queued", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      const work = watchWorkOf(kit);
      try {
        const spec = spawnSpec(kit, 0);
        await work.after(() => kit.store.spawnChild(lease, spec), isQueued(kit, spec.child.id), "spawnChild");
      } finally {
        work.unwatch();
      }
    });

    it("rings after a child's terminal settlement wakes its waiting parent", async () => {
      const kit = await openKit(suite);
      const { parent, lease, child } = await parentWithChild(kit);
      await park(kit, lease, { children: [child.id] }, NEVER_DUE, T0 + 5);
      const work = watchWorkOf(kit);
      try {
        await work.after(
          () => finishChild(kit, child.id, "completed"),
          isQueued(kit, parent.id),
          "a child settled",
        );
      } finally {
        work.unwatch();
      }
    });

    it("rings after deliverSignal wakes a waiting task", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await park(kit, lease, { signals: [{ name: "approve", index: 0 }] }, NEVER_DUE, T0 + 5);
      const work = watchWorkOf(kit);
      try {
        const deliver = () =>
          kit.store.deliverSignal({ taskId: task.id, name: "approve", payload: encode(true), now: T0 + 9 });
        await work.after(deliver, isQueued(kit, task.id), "deliverSignal");
      } finally {
        work.unwatch();
      }
    });

    it("rings after retryTask", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      const work = watchWorkOf(kit);
      try {
        await work.after(() => kit.store.retryTask(failed.id, T0 + 9), isQueued(kit, failed.id), "retryTask");
      } finally {
        work.unwatch();
      }
    });

    it("rings after a cancel request makes a waiting task with active children queued", async () => {
      const kit = await openKit(suite);
      const { parent, lease } = await parentWithChild(kit);
      await park(kit, lease, {}, NEVER_DUE, T0 + 5);
      const work = watchWorkOf(kit);
      try {
        const cancel = () => kit.store.requestCancel(parent.id, T0 + 9, TERMINAL_DATA);
        await work.after(cancel, isQueued(kit, parent.id), "requestCancel");
      } finally {
        work.unwatch();
      }
    });

    it("rings asynchronously, in the watcher's async context, never in the writer's", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      const als = new AsyncLocalStorage<string>();
      const bell = ring<[string | undefined]>(kit.ringTimeoutMs, "watchWork context");
      const unwatch = als.run("watcher", () => kit.store.watchWork(() => bell.fn(als.getStore())));
      try {
        await als.run("writer", async () => {
          const pending = kit.store.retryTask(failed.id, T0 + 9);
          expect(bell.calls).toHaveLength(0); // not inside the writer's call
          await pending;
        });
        await bell.next(1);
        expect(bell.calls.map(([context]) => context)).toEqual(bell.calls.map(() => "watcher"));
      } finally {
        unwatch();
      }
    });

    it("stops ringing once unwatched; unwatch is idempotent", async () => {
      const kit = await openKit(suite);
      const stopped = ring(kit.ringTimeoutMs, "unwatched work ring");
      const unwatch = kit.store.watchWork(stopped.fn);
      // A sentinel, still watching, proves the rings went out while the unwatched callback saw none.
      const sentinel = watchWorkOf(kit, "sentinel work ring");
      try {
        unwatch();
        unwatch();
        for (let i = 0; i < 2; i++) {
          const failed = await failedTask(kit);
          await sentinel.after(
            () => kit.store.retryTask(failed.id, T0 + 9),
            isQueued(kit, failed.id),
            "retryTask",
          );
        }
        expect(stopped.calls).toHaveLength(0);
      } finally {
        sentinel.unwatch();
      }
    });
  });
}
