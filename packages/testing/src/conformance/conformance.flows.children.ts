import { NEVER_DUE, TERMINAL_STATUSES } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { childEvents, claimChild, finishChild, parentWithChild, park, spawn } from "./conformance.flows.kit";
import {
  boom,
  emitted,
  LEASE_MS,
  openKit,
  ring,
  type Suite,
  T0,
  TERMINAL_DATA,
  untilRung,
} from "./conformance.kit";

/** A child's terminal settlement, in the same atomic write, reaches its parent. */
export function childrenConformance(suite: Suite): void {
  describe("terminal settlement of a child", () => {
    for (const status of TERMINAL_STATUSES) {
      it(`${status}: the parent gets exactly one child event { taskId, task, status } at its next seq`, async () => {
        const kit = await openKit(suite);
        const { lease } = await kit.running();
        await kit.emit(lease, 1);
        const child = await spawn(kit, lease, 0);
        await finishChild(kit, child.id, status, T0 + 10);
        expect(await childEvents(kit, lease.taskId)).toEqual([
          { seq: 2, at: T0 + 1, data: { taskId: child.id, task: child.name, status: "queued" } },
          { seq: 3, at: T0 + 10, data: { taskId: child.id, task: child.name, status } },
        ]);
        expect(await kit.store.readEvents(lease.taskId, 2, 10)).toHaveLength(1);
        expect(await kit.get(lease.taskId)).toMatchObject({ lastSeq: 3, emits: 1 });
      });
    }

    it("requestCancel's immediate cancel of a queued child gives the parent a cancelled child event", async () => {
      const kit = await openKit(suite);
      const { parent, child } = await parentWithChild(kit);
      expect((await kit.store.requestCancel(child.id, T0 + 10, TERMINAL_DATA)).outcome).toBe("cancelled");
      expect(await childEvents(kit, parent.id)).toEqual([
        { seq: 1, at: T0 + 1, data: { taskId: child.id, task: child.name, status: "queued" } },
        { seq: 2, at: T0 + 10, data: { taskId: child.id, task: child.name, status: "cancelled" } },
      ]);
      expect((await kit.get(parent.id)).lastSeq).toBe(2);
    });

    it("wakes a waiting parent: queued at now, revision bumped, claimable", async () => {
      const kit = await openKit(suite);
      const { parent, lease, child } = await parentWithChild(kit);
      const parked = await park(kit, lease, { children: [child.id] }, NEVER_DUE, T0 + 5);
      expect(parked.status).toBe("waiting");
      await finishChild(kit, child.id, "completed", T0 + 10);
      const woken = await kit.get(parent.id);
      expect(woken).toMatchObject({ status: "queued", runAt: T0 + 10, leaseOwner: null });
      expect(woken.revision).toBeGreaterThan(parked.revision);
      expect((await kit.claim(T0 + 10)).map((c) => c.task.id)).toEqual([parent.id]);
    });

    it("a running parent keeps running: its lease still holds and its next appendEvent continues from emits", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      await kit.emit(lease, 1);
      const child = await spawn(kit, lease, 0);
      await finishChild(kit, child.id, "completed", T0 + 10);
      expect(await kit.get(lease.taskId)).toMatchObject({ status: "running", revision: lease.revision });
      expect((await kit.store.renewLease(lease, T0 + 11, LEASE_MS)).held).toBe(true);
      expect(await kit.store.appendEvent(lease, emitted(1))).toBe(4);
      expect(await kit.get(lease.taskId)).toMatchObject({ lastSeq: 4, emits: 2 });
    });

    it("rings the parent's event watchers once the child event is readable", async () => {
      const kit = await openKit(suite);
      const { parent, child } = await parentWithChild(kit);
      const bell = ring(kit.ringTimeoutMs, "parent watchEvents ring");
      const unwatch = kit.store.watchEvents(parent.id, bell.fn);
      try {
        await finishChild(kit, child.id, "failed", T0 + 10);
        await untilRung(
          bell,
          async () => (await childEvents(kit, parent.id)).length === 2,
          kit.ringTimeoutMs,
          "a parent ring after its child settled",
        );
      } finally {
        unwatch();
      }
    });

    it("only a terminal settlement reaches the parent: retrying, queued and waiting leave it alone", async () => {
      const kit = await openKit(suite);
      const { parent, lease, child } = await parentWithChild(kit);
      const parked = await park(kit, lease, { children: [child.id] }, NEVER_DUE, T0 + 5);
      const settlements = [
        { status: "retrying", error: boom(), runAt: T0 + 10 },
        { status: "queued", runAt: T0 + 10 },
        { status: "waiting", runAt: T0 + 10, wakeOn: {} },
      ] as const;
      for (const settlement of settlements) {
        await kit.store.settleTask(await claimChild(kit, child.id, T0 + 10), settlement, T0 + 10);
      }
      expect(await kit.get(parent.id)).toEqual(parked);
      expect((await childEvents(kit, parent.id)).map((e) => e.data.status)).toEqual(["queued"]);
    });
  });
}
