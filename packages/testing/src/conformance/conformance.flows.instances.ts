import { encode, NEVER_DUE } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  failedTask,
  finishChild,
  isQueued,
  parentWithChild,
  park,
  watchWorkOf,
} from "./conformance.flows.kit";
import { type Kit, openKit, openSecond, type Suite, T0 } from "./conformance.kit";
import { outcomes } from "./conformance.race";

/** The flow methods across two instances over one backing storage (another process, another node). */
export function flowsInstancesConformance(suite: Suite): void {
  describe.skipIf(!suite.options.secondInstance)("flows across instances (secondInstance)", () => {
    const pair = async (): Promise<[Kit, Kit]> => {
      const a = await openKit(suite);
      return [a, await openSecond(suite, a)];
    };

    it("a signal that wakes a task through one instance rings the other's work watcher", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      await park(a, lease, { signals: [{ name: "approve", index: 0 }] }, NEVER_DUE, T0 + 5);
      const work = watchWorkOf(a, "cross-instance work ring");
      try {
        const deliver = () =>
          b.store.deliverSignal({ taskId: task.id, name: "approve", payload: encode(true), now: T0 + 9 });
        await work.after(deliver, isQueued(a, task.id), "a signal delivered on the other instance");
      } finally {
        work.unwatch();
      }
    });

    it("a child settled through one instance wakes its waiting parent and rings the other's work watcher", async () => {
      const [a, b] = await pair();
      const { parent, lease, child } = await parentWithChild(a);
      await park(a, lease, { children: [child.id] }, NEVER_DUE, T0 + 5);
      const work = watchWorkOf(a, "cross-instance work ring");
      try {
        const settle = () => finishChild(b, child.id, "failed", T0 + 10);
        await work.after(settle, isQueued(a, parent.id), "a child settled on the other instance");
      } finally {
        work.unwatch();
      }
    });

    it("concurrent deliveries of one name on two instances get indices 0..n-1 without duplicates", async () => {
      const [a, b] = await pair();
      const task = await a.create();
      const sent = Array.from({ length: 12 }, (_, n) => ({
        taskId: task.id,
        name: "vote",
        payload: encode({ n }),
        now: T0 + 1,
      }));
      const results = await Promise.all(sent.map((s, n) => (n % 2 ? b : a).store.deliverSignal(s)));
      expect(results.map((r) => r.index).sort((x, y) => x - y)).toEqual([...Array(12).keys()]);
      for (const [n, r] of results.entries()) {
        expect(await b.store.readSignal(task.id, "vote", r.index)).toBe(sent[n]!.payload);
      }
    });

    it("concurrent retries of one failed task on two instances: exactly one succeeds", async () => {
      const [a, b] = await pair();
      const failed = await failedTask(a);
      const results = await Promise.allSettled([
        a.store.retryTask(failed.id, T0 + 100),
        b.store.retryTask(failed.id, T0 + 100),
      ]);
      expect(outcomes(results, "NOT_RESUMABLE")).toHaveLength(1);
      expect(await b.get(failed.id)).toMatchObject({ status: "queued", attempt: 2 });
    });
  });
}
