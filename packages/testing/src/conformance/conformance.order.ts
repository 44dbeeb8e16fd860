import { describe, expect, it } from "vitest";
import { type Kit, openKit, type Suite, T0 } from "./conformance.kit";

/** Creates `count` queued tasks for `owner` one after another (their fair turns in creation order). */
async function flood(kit: Kit, owner: string, count: number, priority = 0): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let i = 0; i < count; i++) ids.add((await kit.create({ owner, priority, runAt: T0 + i })).id);
  return ids;
}

/** Claim order: `priority`, then fair turns by owner (`claimTasks`). */
export function orderConformance(suite: Suite): void {
  describe("claimTasks order: priority and fairness", () => {
    it("stores the priority (default 0) and claims a high-priority task queued behind 200 low ones next", async () => {
      const kit = await openKit(suite);
      await flood(kit, kit.owner, 200);
      const urgent = await kit.create({ priority: 5, runAt: T0 + 500 });
      expect(urgent.priority).toBe(5);
      const [first] = await kit.claim(T0 + 1000, 1);
      expect(first?.task).toMatchObject({ id: urgent.id, priority: 5 });
      expect((await kit.claim(T0 + 1000, 1))[0]?.task.priority).toBe(0);
    });

    it("claims lower priorities last, whatever their age", async () => {
      const kit = await openKit(suite);
      const low = await kit.create({ priority: -3, runAt: T0 });
      const normal = await kit.create({ owner: `${kit.owner}-b`, runAt: T0 + 5 });
      const claimed = await kit.claim(T0 + 10, 2);
      expect(claimed.map((c) => c.task.id)).toEqual([normal.id, low.id]);
    });

    it("interleaves owners: with 100 queued tasks each, every 2 claims take one task of each owner", async () => {
      const kit = await openKit(suite);
      const a = await flood(kit, `${kit.owner}-a`, 100);
      const b = await flood(kit, `${kit.owner}-b`, 100);
      for (let round = 0; round < 4; round++) {
        const claimed = await kit.claim(T0 + 1000, 2);
        expect(claimed.filter((c) => a.has(c.task.id))).toHaveLength(1);
        expect(claimed.filter((c) => b.has(c.task.id))).toHaveLength(1);
      }
    });

    it("a newcomer joins at the head of the queue, not ahead of another owner's whole backlog", async () => {
      const kit = await openKit(suite);
      // The floor is the lowest queued turn at a priority across the store: a priority no other test uses
      // keeps tasks of other tests (stores that share storage between tests) out of it.
      const a = await flood(kit, `${kit.owner}-a`, 10, 7);
      expect(await kit.claim(T0 + 100, 5)).toHaveLength(5);
      const late = await flood(kit, `${kit.owner}-late`, 3, 7);
      const claimed = await kit.claim(T0 + 100, 2);
      expect(claimed.filter((c) => a.has(c.task.id))).toHaveLength(1);
      expect(claimed.filter((c) => late.has(c.task.id))).toHaveLength(1);
    });
  });
}
