import type { ClaimedTask, RunningLimits } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  type Kit,
  LEASE_MS,
  openKit,
  openSecond,
  type Suite,
  T0,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";

/**
 * Far past every other test's leases: a global `max` counts every running task of the store, and stores
 * that share storage between tests keep those (their leases expire long before this).
 */
const LATER = T0 + 1_000_000_000;

/** Creates `count` queued tasks of `owner` (and `name`) due at `at`. */
async function queue(
  kit: Kit,
  count: number,
  overrides: { owner?: string; name?: string; priority?: number } = {},
) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await kit.create({ runAt: T0 + i, ...overrides })).id);
  return ids;
}

/** Claims with caps. */
function claimCapped(
  kit: Kit,
  running: RunningLimits,
  options: { now?: number; limit?: number; names?: string[]; workerId?: string } = {},
): Promise<ClaimedTask[]> {
  return kit.store.claimTasks({
    workerId: options.workerId ?? "worker-a",
    names: options.names ?? [kit.name],
    limit: options.limit ?? 10,
    now: options.now ?? T0 + 1000,
    leaseMs: LEASE_MS,
    running,
  });
}

const ownersOf = (claimed: ClaimedTask[]) => claimed.map((c) => c.task.owner);
const count = (values: string[], value: string) => values.filter((v) => v === value).length;

/** `ClaimRequest.running`: caps on running tasks, counted atomically with the claim. */
export function runningLimitsConformance(suite: Suite): void {
  describe("claimTasks under running caps", () => {
    it("perOwner: each owner gets at most its cap, counting what already runs; a settle frees a slot", async () => {
      const kit = await openKit(suite);
      const [a, b] = [`${kit.owner}-a`, `${kit.owner}-b`];
      await queue(kit, 5, { owner: a });
      await queue(kit, 5, { owner: b });
      const caps = { perOwner: 2 };
      const first = await claimCapped(kit, caps);
      expect(count(ownersOf(first), a)).toBe(2);
      expect(count(ownersOf(first), b)).toBe(2);
      expect(await claimCapped(kit, caps)).toEqual([]);
      const done = first.find((c) => c.task.owner === a)!;
      await kit.store.settleTask(done.lease, TERMINAL_SETTLEMENTS.completed, T0 + 1001);
      expect(ownersOf(await claimCapped(kit, caps, { now: T0 + 1002 }))).toEqual([a]);
      // Without caps the same store claims the rest at once.
      expect(await kit.claim(T0 + 1003, 10)).toHaveLength(5);
    });

    it("max: counts every running task; an expired lease frees its slot and is reclaimed under the cap", async () => {
      const kit = await openKit(suite);
      await queue(kit, 6);
      const caps = { max: 3 };
      expect(await claimCapped(kit, caps, { now: LATER })).toHaveLength(3);
      expect(await claimCapped(kit, caps, { now: LATER + 1 })).toEqual([]);
      // The three leases expire: they are candidates again and nothing counts as running.
      const again = await claimCapped(kit, caps, { now: LATER + LEASE_MS + 1 });
      expect(again).toHaveLength(3);
      expect(await claimCapped(kit, caps, { now: LATER + LEASE_MS + 2 })).toEqual([]);
    });

    it("byName: a name at its max is skipped while other names still claim", async () => {
      const kit = await openKit(suite);
      const other = `${kit.name}-other`;
      await queue(kit, 3);
      await queue(kit, 3, { name: other });
      const caps = { byName: { [kit.name]: { max: 1 } } };
      const claimed = await claimCapped(kit, caps, { names: [kit.name, other] });
      expect(claimed.filter((c) => c.task.name === kit.name)).toHaveLength(1);
      expect(claimed.filter((c) => c.task.name === other)).toHaveLength(3);
      expect(await claimCapped(kit, caps, { names: [kit.name, other] })).toEqual([]);
    });

    it("byName perOwner: the cap holds per owner within one name", async () => {
      const kit = await openKit(suite);
      const [a, b] = [`${kit.owner}-a`, `${kit.owner}-b`];
      await queue(kit, 3, { owner: a });
      await queue(kit, 3, { owner: b });
      const claimed = await claimCapped(kit, { byName: { [kit.name]: { perOwner: 1 } } });
      expect(ownersOf(claimed).sort()).toEqual([a, b]);
    });

    it("an owner at its cap does not hide the others, even when all its tasks come first", async () => {
      const kit = await openKit(suite);
      const [busy, quiet] = [`${kit.owner}-busy`, `${kit.owner}-quiet`];
      await queue(kit, 40, { owner: busy, priority: 5 });
      await queue(kit, 3, { owner: quiet });
      const claimed = await claimCapped(kit, { perOwner: 1 }, { limit: 4 });
      // One of each: the claim went past the busy owner's 39 other tasks to find the quiet owner's.
      expect(ownersOf(claimed)).toEqual([busy, quiet]);
    });

    it("leaves a skipped task claimable, in its place in the order", async () => {
      const kit = await openKit(suite);
      const [a, b] = [`${kit.owner}-a`, `${kit.owner}-b`];
      const aIds = await queue(kit, 2, { owner: a });
      await queue(kit, 1, { owner: b });
      const first = await claimCapped(kit, { perOwner: 1 });
      expect(first).toHaveLength(2);
      const next = await kit.claim(T0 + 1001, 10);
      expect(next.map((c) => c.task.id)).toEqual([aIds[1]]);
      expect(next[0]?.task).toMatchObject({ status: "running", claims: 1 });
    });

    it.skipIf(!suite.options.secondInstance)(
      "across instances: concurrent capped claims never exceed the cap",
      async () => {
        const kit = await openKit(suite);
        const other = await openSecond(suite, kit);
        await queue(kit, 30);
        const caps = { byName: { [kit.name]: { max: 4 } } };
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            claimCapped(i % 2 ? other : kit, caps, { limit: 3, workerId: `worker-${i}` }),
          ),
        );
        expect(claims.flat()).toHaveLength(4);
        expect(new Set(claims.flat().map((c) => c.task.id)).size).toBe(4);
      },
    );
  });
}
