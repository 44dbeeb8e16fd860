import type { CreateTaskResult, TaskStore } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { LEASE_MS, openKit, type Suite, T0 } from "./conformance.kit";

const RATE = { perSecond: 2, burst: 3 };

/** `createTask` with `startRate` (a per-owner token bucket in the store) and `maxQueued`. */
export function startLimitsConformance(suite: Suite): void {
  describe("createTask with startRate", () => {
    it("admits a burst, then refuses with the time until one token, writing nothing", async () => {
      const kit = await openKit(suite);
      for (let i = 0; i < 3; i++) await kit.create({ startRate: RATE });
      const refused = kit.newTask({ startRate: RATE, now: T0 + 100 });
      // 0.2 tokens refilled in 100 ms at 2/s: 0.8 missing = 400 ms.
      expect(await kit.store.createTask(refused)).toEqual({
        created: false,
        limited: true,
        limit: "startRate",
        retryAfterMs: 400,
      });
      expect(await kit.store.getTask(refused.id)).toBeUndefined();
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(3);
    });

    it("refills with the passing of `now` and never above the burst", async () => {
      const kit = await openKit(suite);
      for (let i = 0; i < 3; i++) await kit.create({ startRate: RATE });
      const at = (now: number) => kit.store.createTask(kit.newTask({ startRate: RATE, now, runAt: now }));
      expect((await at(T0 + 500)).created).toBe(true); // one token after 500 ms
      expect((await at(T0 + 500)).created).toBe(false);
      // A long pause refills to the burst only: three starts, then the fourth is refused.
      const later = T0 + 3_600_000;
      const results = [await at(later), await at(later), await at(later), await at(later)];
      expect(results.map((r) => r.created)).toEqual([true, true, true, false]);
    });

    it("keeps one bucket per owner", async () => {
      const kit = await openKit(suite);
      for (let i = 0; i < 3; i++) await kit.create({ startRate: RATE });
      expect((await kit.store.createTask(kit.newTask({ startRate: RATE }))).created).toBe(false);
      const other = await kit.store.createTask(kit.newTask({ startRate: RATE, owner: `${kit.owner}-2` }));
      expect(other.created).toBe(true);
    });

    it("charges nothing for a start that re-attaches by a live idempotency key", async () => {
      const kit = await openKit(suite);
      const idempotency = { key: "once", inputHash: "h", expiresAt: T0 + LEASE_MS };
      const first = await kit.create({ idempotency, startRate: RATE });
      for (let i = 0; i < 5; i++) {
        const again = await kit.store.createTask(kit.newTask({ idempotency, startRate: RATE }));
        expect(again).toMatchObject({ created: false, conflict: false, task: { id: first.id } });
      }
      // Two tokens are left of the burst of three.
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await kit.store.createTask(kit.newTask({ startRate: RATE })));
      expect(results.map((r) => r.created)).toEqual([true, true, false]);
    });

    it("erasure (deleteTasksOfOwner) deletes the owner's bucket with their tasks", async () => {
      const kit = await openKit(suite);
      for (let i = 0; i < 3; i++) await kit.create({ startRate: RATE });
      expect((await kit.store.createTask(kit.newTask({ startRate: RATE }))).created).toBe(false);
      while ((await kit.store.deleteTasksOfOwner(kit.owner, 100)) > 0) {}
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await kit.store.createTask(kit.newTask({ startRate: RATE })));
      expect(results.map((r) => r.created)).toEqual([true, true, true, false]);
    });

    it("is atomic: concurrent creates never take more than the bucket holds", async () => {
      const kit = await openKit(suite);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => kit.store.createTask(kit.newTask({ startRate: RATE }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(3);
      expect(results.filter(isRateLimited)).toHaveLength(7);
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(3);
    });
  });

  describe("createTask with maxQueued", () => {
    it("refuses a queued insert once that many tasks are queued (all owners), writing nothing", async () => {
      const kit = await openKit(suite);
      const base = await queuedCount(kit.store);
      await kit.create({ maxQueued: base + 2 });
      await kit.create({ owner: `${kit.owner}-2`, maxQueued: base + 2 });
      const refused = kit.newTask({ maxQueued: base + 2 });
      expect(await kit.store.createTask(refused)).toEqual({
        created: false,
        limited: true,
        limit: "maxQueued",
        queued: base + 2,
      });
      expect(await kit.store.getTask(refused.id)).toBeUndefined();
      // A claimed start is not queued and is not refused; a claimed task leaves the backlog.
      await kit.running({ maxQueued: base + 2 });
      expect(await kit.claim(T0, 1)).toHaveLength(1);
      expect((await kit.store.createTask(kit.newTask({ maxQueued: base + 2 }))).created).toBe(true);
    });

    it("is atomic: concurrent creates never exceed it", async () => {
      const kit = await openKit(suite);
      const base = await queuedCount(kit.store);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          kit.store.createTask(kit.newTask({ owner: `${kit.owner}-${i}`, maxQueued: base + 3 })),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(3);
      expect(await queuedCount(kit.store)).toBe(base + 3);
    });
  });
}

function isRateLimited(result: CreateTaskResult): boolean {
  return "limited" in result && result.limit === "startRate";
}

/** Queued tasks of every test sharing this storage (`maxQueued` counts them all). */
async function queuedCount(store: TaskStore): Promise<number> {
  return (await store.listTasks({ status: "queued", limit: 100_000 })).length;
}
