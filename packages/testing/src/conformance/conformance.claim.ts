import { describe, expect, it } from "vitest";
import { emitted, LEASE_MS, openKit, type Suite, T0, TERMINAL_DATA } from "./conformance.kit";

/** `claimTasks` and `renewLease`. */
export function claimConformance(suite: Suite): void {
  describe("claimTasks", () => {
    it("claims only tasks whose name is in names", async () => {
      const kit = await openKit(suite);
      const [a, b, c] = [`${kit.ns}.a`, `${kit.ns}.b`, `${kit.ns}.c`];
      const ta = await kit.create({ name: a });
      const tb = await kit.create({ name: b });
      const tc = await kit.create({ name: c });
      expect(await kit.claim(T0, 10, "w", [])).toEqual([]);
      const claimed = await kit.claim(T0, 10, "w", [a, c]);
      expect(claimed.map((x) => x.task.id).sort()).toEqual([ta.id, tc.id].sort());
      expect(await kit.get(tb.id)).toMatchObject({ status: "queued", claims: 0, revision: 1 });
    });

    it("claims queued tasks only once runAt <= now", async () => {
      const kit = await openKit(suite);
      const due = await kit.create({ runAt: T0 });
      const dueNow = await kit.create({ runAt: T0 + 10 });
      const later = await kit.create({ runAt: T0 + 11 });
      const claimed = await kit.claim(T0 + 10);
      expect(claimed.map((x) => x.task.id).sort()).toEqual([due.id, dueNow.id].sort());
      expect(await kit.get(later.id)).toMatchObject({ status: "queued", claims: 0 });
      expect((await kit.claim(T0 + 11)).map((x) => x.task.id)).toEqual([later.id]);
    });

    it("a claimed task becomes running with the lease: leaseOwner, now + leaseMs, claims + 1, new revision", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const [claimed] = await kit.claim(T0 + 7, 10, "worker-x");
      expect(claimed?.lease).toEqual({ taskId: task.id, workerId: "worker-x", revision: 2 });
      const expected = {
        status: "running",
        leaseOwner: "worker-x",
        leaseExpiresAt: T0 + 7 + LEASE_MS,
        claims: 1,
        revision: 2,
        attempt: 1,
      };
      expect(claimed?.task).toMatchObject(expected);
      expect(claimed?.task).toEqual(await kit.get(task.id));
    });

    it("claims the oldest runAt first among tasks of equal priority and fair turn", async () => {
      const kit = await openKit(suite);
      const byOffset = new Map<number, string>();
      // One owner each: every task is its owner's first, so all have the same fair turn.
      for (const offset of [3, 1, 4, 0, 2])
        byOffset.set(offset, (await kit.create({ runAt: T0 + offset, owner: `${kit.owner}-${offset}` })).id);
      const first = await kit.claim(T0 + 10, 2);
      expect(first.map((x) => x.task.id).sort()).toEqual([byOffset.get(0), byOffset.get(1)].sort());
      const second = await kit.claim(T0 + 10, 1);
      expect(second.map((x) => x.task.id)).toEqual([byOffset.get(2)]);
    });

    it("claims at most limit tasks", async () => {
      const kit = await openKit(suite);
      for (let i = 0; i < 5; i++) await kit.create();
      expect(await kit.claim(T0, 3)).toHaveLength(3);
      expect(await kit.claim(T0, 3)).toHaveLength(2);
      expect(await kit.claim(T0, 3)).toHaveLength(0);
    });

    it("does not claim a running task while leaseExpiresAt >= now", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      expect(await kit.claim(T0 + LEASE_MS, 10, "worker-b")).toEqual([]);
      expect(await kit.get(task.id)).toMatchObject({ leaseOwner: "worker-a", claims: 1, revision: 2 });
    });

    it("reclaims a running task whose lease expired (leaseExpiresAt < now): claims + 1, new revision", async () => {
      const kit = await openKit(suite);
      const { stale, fresh, task } = await kit.reclaimed();
      expect(fresh.revision).not.toBe(stale.revision);
      expect(fresh).toEqual({ taskId: stale.taskId, workerId: "worker-b", revision: task.revision });
      expect(task).toMatchObject({
        status: "running",
        leaseOwner: "worker-b",
        leaseExpiresAt: T0 + LEASE_MS + 1 + LEASE_MS,
        claims: 2,
        attempt: 1,
      });
      expect(await kit.get(task.id)).toEqual(task);
    });

    it("marks a claim of an expired lease reclaimed, and a claim of a due task not", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      const queued = await kit.create({ runAt: T0 + LEASE_MS });
      const claimed = await kit.claim(T0 + LEASE_MS + 1, 10, "worker-b");
      const byId = new Map(claimed.map((c) => [c.task.id, c.reclaimed]));
      expect(byId.get(task.id)).toBe(true);
      expect(byId.get(queued.id)).toBe(false);
    });

    it("never claims terminal tasks", async () => {
      const kit = await openKit(suite);
      const done = await kit.running();
      await kit.store.settleTask(done.lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0);
      const failed = await kit.running();
      await kit.store.settleTask(
        failed.lease,
        { status: "failed", error: { code: "X", message: "x" }, event: TERMINAL_DATA },
        T0,
      );
      const cancelled = await kit.create();
      await kit.store.requestCancel(cancelled.id, T0, TERMINAL_DATA);
      expect(await kit.claim(T0 + 10 * LEASE_MS)).toEqual([]);
    });

    it("two concurrent claimers never receive the same task", async () => {
      const kit = await openKit(suite);
      const total = 24;
      for (let i = 0; i < total; i++) await kit.create({ runAt: T0 + (i % 3) });
      const rounds = await Promise.all(["w1", "w2", "w3", "w4"].map((w) => kit.claim(T0 + 5, 10, w)));
      const ids = rounds.flat().map((c) => c.task.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Every lease handed out is the one the task holds now: no claimer was silently overwritten.
      for (const claimed of rounds.flat()) {
        expect(await kit.get(claimed.task.id)).toMatchObject({
          leaseOwner: claimed.lease.workerId,
          revision: claimed.lease.revision,
          claims: 1,
        });
      }
      const rest = await kit.claim(T0 + 5, total, "w5");
      expect(new Set([...ids, ...rest.map((c) => c.task.id)]).size).toBe(total);
    });

    it("claims a reclaimable task with a pending cancel request (the runner settles it)", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      expect((await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA)).outcome).toBe("requested");
      const [claimed] = await kit.claim(T0 + LEASE_MS + 1, 10, "worker-b");
      expect(claimed?.task).toMatchObject({ id: task.id, status: "running", cancelRequestedAt: T0 + 1 });
    });

    it("claims a handed-back task with a pending cancel request", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
      await kit.store.settleTask(lease, { status: "queued", runAt: T0 + 2 }, T0 + 2);
      const [claimed] = await kit.claim(T0 + 2, 10, "worker-b");
      expect(claimed?.task).toMatchObject({ id: task.id, status: "running", cancelRequestedAt: T0 + 1 });
    });
  });

  describe("renewLease", () => {
    it("extends the lease to now + leaseMs and reports it held", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      expect(await kit.store.renewLease(lease, T0 + 1_000, 2 * LEASE_MS)).toEqual({
        held: true,
        cancelRequested: false,
      });
      expect((await kit.get(task.id)).leaseExpiresAt).toBe(T0 + 1_000 + 2 * LEASE_MS);
      // Past the original expiry the renewed lease keeps other workers out.
      expect(await kit.claim(T0 + LEASE_MS + 1, 10, "worker-b")).toEqual([]);
    });

    it("does not change the revision: the lease stays a valid fencing token", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.renewLease(lease, T0 + 1, LEASE_MS);
      await kit.store.renewLease(lease, T0 + 2, LEASE_MS);
      expect((await kit.get(task.id)).revision).toBe(lease.revision);
      await kit.store.appendEvent(lease, emitted(0));
    });

    it("still holds a lease whose time passed but that nobody reclaimed", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const late = T0 + LEASE_MS + 5;
      expect(await kit.store.renewLease(lease, late, LEASE_MS)).toEqual({
        held: true,
        cancelRequested: false,
      });
      expect((await kit.get(task.id)).leaseExpiresAt).toBe(late + LEASE_MS);
    });

    it("reports held false once the lease expired and was reclaimed, leaving the new lease alone", async () => {
      const kit = await openKit(suite);
      const { stale, task } = await kit.reclaimed();
      expect((await kit.store.renewLease(stale, T0 + LEASE_MS + 2, 5 * LEASE_MS)).held).toBe(false);
      expect(await kit.get(task.id)).toEqual(task);
    });

    it("reports held false once the task settled", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(lease, { status: "queued", runAt: T0 + 1 }, T0 + 1);
      const settled = await kit.get(task.id);
      expect((await kit.store.renewLease(lease, T0 + 2, LEASE_MS)).held).toBe(false);
      expect(await kit.get(task.id)).toEqual(settled);
    });

    it("reports cancelRequested once a cancel was requested", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
      expect(await kit.store.renewLease(lease, T0 + 2, LEASE_MS)).toEqual({
        held: true,
        cancelRequested: true,
      });
    });
  });
}
