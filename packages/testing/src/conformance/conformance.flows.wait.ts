import { encode, NEVER_DUE } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { finishChild, park, spawn } from "./conformance.flows.kit";
import { event, LEASE_MS, openKit, type Suite, T0 } from "./conformance.kit";

/** `settleTask` with `waiting`, and claiming a waiting task once it is due. */
export function waitConformance(suite: Suite): void {
  describe("settleTask waiting", () => {
    it("parks the task waiting without a lease until runAt: revision bumped, runAt kept, no event", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      const parked = await park(kit, lease, {}, T0 + 500, T0 + 5);
      expect(parked).toMatchObject({
        status: "waiting",
        revision: lease.revision + 1,
        leaseOwner: null,
        leaseExpiresAt: null,
        runAt: T0 + 500,
        attempt: 1,
        lastSeq: 1,
        emits: 1,
        updatedAt: T0 + 5,
      });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1)]);
      expect((await kit.store.renewLease(lease, T0 + 6, LEASE_MS)).held).toBe(false);
    });

    it("claimTasks claims a waiting task once runAt <= now, and not before", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await park(kit, lease, {}, T0 + 500);
      expect(await kit.claim(T0 + 499)).toEqual([]);
      const [claimed] = await kit.claim(T0 + 500, 10, "worker-b");
      expect(claimed?.lease).toEqual({ taskId: task.id, workerId: "worker-b", revision: lease.revision + 2 });
      expect(claimed?.task).toMatchObject({
        status: "running",
        leaseOwner: "worker-b",
        claims: 2,
        attempt: 1,
      });
    });

    it("a waiting task at NEVER_DUE is never claimed by time alone", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      await park(kit, lease, {}, NEVER_DUE);
      expect(await kit.claim(T0 * 1_000)).toEqual([]);
      expect((await kit.get(lease.taskId)).status).toBe("waiting");
    });

    it("wakeOn.cancel: with a cancel request already recorded, the task becomes queued at now instead", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      // Recorded while the run was parking (e.g. on another node): the wait must not swallow it.
      expect((await kit.store.requestCancel(lease.taskId, T0 + 5, encode({ reason: "r" }))).outcome).toBe(
        "requested",
      );
      const parked = await park(kit, lease, { cancel: true }, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({ status: "queued", runAt: T0 + 20, cancelRequestedAt: T0 + 5 });
    });

    it("without wakeOn.cancel, a cancel request does not wake the task (it waits for its children)", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      const child = await spawn(kit, lease, 0);
      await kit.store.requestCancel(lease.taskId, T0 + 5, encode({ reason: "r" }));
      const parked = await park(kit, lease, { children: [child.id] }, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({ status: "waiting", runAt: NEVER_DUE });
    });

    it("wakeOn.children: when a listed child is already terminal, the task becomes queued at now instead", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const active = await spawn(kit, lease, 0);
      const done = await spawn(kit, lease, 1);
      await finishChild(kit, done.id, "failed", T0 + 10);
      const parked = await park(kit, lease, { children: [active.id, done.id] }, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({
        status: "queued",
        runAt: T0 + 20,
        leaseOwner: null,
        leaseExpiresAt: null,
      });
      expect(parked.revision).toBeGreaterThan(lease.revision);
      expect((await kit.claim(T0 + 20)).map((c) => c.task.id)).toEqual([task.id]);
    });

    it("wakeOn.children: while no listed child is terminal, the task stays waiting", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      const a = await spawn(kit, lease, 0);
      const b = await spawn(kit, lease, 1);
      const parked = await park(kit, lease, { children: [a.id, b.id] }, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({ status: "waiting", runAt: NEVER_DUE, revision: lease.revision + 1 });
    });

    it("wakeOn.signals: when the task already has more than index signals of that name, it becomes queued at now", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      for (let i = 0; i < 2; i++) {
        await kit.store.deliverSignal({ taskId: task.id, name: "approve", payload: encode(i), now: T0 + 2 });
      }
      const parked = await park(kit, lease, { signals: [{ name: "approve", index: 1 }] }, NEVER_DUE, T0 + 20);
      expect(parked).toMatchObject({ status: "queued", runAt: T0 + 20, leaseOwner: null });
      expect(parked.revision).toBeGreaterThan(lease.revision);
    });

    it("wakeOn.signals: with no signal at that index of that name yet, the task stays waiting", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.deliverSignal({ taskId: task.id, name: "approve", payload: encode(true), now: T0 + 2 });
      const wakeOn = {
        signals: [
          { name: "approve", index: 1 },
          { name: "reject", index: 0 },
        ],
      };
      const parked = await park(kit, lease, wakeOn, T0 + 900, T0 + 20);
      expect(parked).toMatchObject({ status: "waiting", runAt: T0 + 900, revision: lease.revision + 1 });
    });
  });
}
