import { type Lease, NEVER_DUE, type TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { finishChild, parentWithChild, park } from "./conformance.flows.kit";
import {
  boom,
  type Kit,
  openKit,
  type Suite,
  T0,
  TERMINAL_DATA,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";

/** How a parent with a running lease and an active child is put aside before the cancel request. */
const pausedWith: Record<string, (kit: Kit, lease: Lease) => Promise<unknown>> = {
  queued: (kit, lease) => kit.store.settleTask(lease, { status: "queued", runAt: T0 + 500 }, T0 + 5),
  retrying: (kit, lease) =>
    kit.store.settleTask(lease, { status: "retrying", error: boom(), runAt: T0 + 500 }, T0 + 5),
  waiting: (kit, lease) => park(kit, lease, {}, NEVER_DUE, T0 + 5),
};

/** `requestCancel` of a task that has child tasks. */
export function cancelTreeConformance(suite: Suite): void {
  describe("requestCancel of a task with children", () => {
    for (const [status, pause] of Object.entries(pausedWith)) {
      it(`a ${status} task with an active child is made queued at now (requested), nothing appended, the child untouched`, async () => {
        const kit = await openKit(suite);
        const { parent, lease, child } = await parentWithChild(kit);
        await pause(kit, lease);
        expect((await kit.get(parent.id)).status).toBe(status);
        const res = await kit.store.requestCancel(parent.id, T0 + 30, TERMINAL_DATA);
        expect(res.outcome).toBe("requested");
        expect(res.task).toMatchObject({
          status: "queued",
          runAt: T0 + 30,
          cancelRequestedAt: T0 + 30,
          lastSeq: 1,
        });
        expect(await kit.get(parent.id)).toEqual(res.task);
        expect((await kit.store.readEvents(parent.id, 0, 10)).map((e) => e.name)).toEqual(["child"]);
        expect(await kit.get(child.id)).toEqual(child);
      });
    }

    it("the request is recorded once: a worker claims the task at now with it, a second request is already_requested", async () => {
      const kit = await openKit(suite);
      const { parent, lease } = await parentWithChild(kit);
      await park(kit, lease, {}, NEVER_DUE, T0 + 5);
      await kit.store.requestCancel(parent.id, T0 + 30, TERMINAL_DATA);
      const again = await kit.store.requestCancel(parent.id, T0 + 31, TERMINAL_DATA);
      expect(again.outcome).toBe("already_requested");
      expect(again.task).toMatchObject({ status: "queued", cancelRequestedAt: T0 + 30 });
      const [claimed] = await kit.claim(T0 + 31);
      expect(claimed?.task).toMatchObject({ id: parent.id, status: "running", cancelRequestedAt: T0 + 30 });
    });

    it("a waiting task whose children are all terminal is cancelled at once, its terminal event at lastSeq + 1", async () => {
      const kit = await openKit(suite);
      const { parent, lease, child } = await parentWithChild(kit);
      await finishChild(kit, child.id, "completed", T0 + 10);
      const parked = await park(kit, lease, {}, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({ status: "waiting", lastSeq: 2 });
      const res = await kit.store.requestCancel(parent.id, T0 + 30, TERMINAL_DATA);
      expect(res.outcome).toBe("cancelled");
      expect(res.task).toMatchObject({
        status: "cancelled",
        cancelRequestedAt: T0 + 30,
        revision: parked.revision + 1,
        lastSeq: 3,
      });
      expect(await kit.store.readEvents(parent.id, 2, 10)).toEqual([
        { seq: 3, name: "cancelled", data: TERMINAL_DATA, at: T0 + 30 },
      ]);
    });

    it("a waiting task without children is cancelled at once", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      const parked = await park(kit, lease, {}, T0 + 500, T0 + 5);
      const res = await kit.store.requestCancel(parked.id, T0 + 30, TERMINAL_DATA);
      expect(res).toMatchObject({ outcome: "cancelled", task: { status: "cancelled", lastSeq: 1 } });
      expect(await kit.claim(T0 + 1_000)).toEqual([]);
    });

    it("a failed task with an active child is unchanged (already_finished)", async () => {
      const kit = await openKit(suite);
      const { parent, lease } = await parentWithChild(kit);
      await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.failed, T0 + 5);
      const failed: TaskRecord = await kit.get(parent.id);
      expect(await kit.store.requestCancel(parent.id, T0 + 30, TERMINAL_DATA)).toEqual({
        outcome: "already_finished",
        task: failed,
      });
      expect(await kit.get(parent.id)).toEqual(failed);
    });
  });
}
