import { NEVER_DUE } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { LEASE_MS, openKit, type Suite, T0, TERMINAL_DATA } from "./conformance.kit";

/** `createTask` with `maxActivePerOwner`. */
export function limitsConformance(suite: Suite): void {
  describe("createTask with maxActivePerOwner", () => {
    it("refuses a create once the owner has that many queued, running, retrying or waiting tasks, writing nothing", async () => {
      const kit = await openKit(suite);
      await kit.create();
      await kit.running();
      const retrying = await kit.running();
      await kit.store.settleTask(
        retrying.lease,
        { status: "retrying", error: { code: "X", message: "x" }, runAt: T0 + 5 },
        T0,
      );
      const waiting = await kit.running();
      await kit.store.settleTask(waiting.lease, { status: "waiting", runAt: NEVER_DUE, wakeOn: {} }, T0);
      const refused = kit.newTask({ maxActivePerOwner: 4 });
      expect(await kit.store.createTask(refused)).toEqual({
        created: false,
        limited: true,
        limit: "maxActivePerOwner",
        active: 4,
      });
      expect(await kit.store.getTask(refused.id)).toBeUndefined();
      const res = await kit.store.createTask(kit.newTask({ maxActivePerOwner: 5 }));
      expect(res.created).toBe(true);
    });

    it("counts only this owner's unfinished tasks", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      await kit.store.settleTask(lease, { status: "cancelled", event: TERMINAL_DATA }, T0 + 1);
      await kit.create({ owner: `${kit.owner}-someone-else` });
      const res = await kit.store.createTask(kit.newTask({ maxActivePerOwner: 1 }));
      expect(res.created).toBe(true);
    });

    it("lets a live idempotency key attach at the limit instead of refusing it", async () => {
      const kit = await openKit(suite);
      const idempotency = { key: "refresh", inputHash: "h", expiresAt: T0 + LEASE_MS };
      const first = await kit.create({ idempotency });
      const again = await kit.store.createTask(kit.newTask({ idempotency, maxActivePerOwner: 1 }));
      expect(again).toMatchObject({ created: false, conflict: false, task: { id: first.id } });
      const other = await kit.store.createTask(kit.newTask({ maxActivePerOwner: 1 }));
      expect(other).toMatchObject({ created: false, limited: true, limit: "maxActivePerOwner", active: 1 });
    });

    it("is atomic: concurrent creates never exceed the limit", async () => {
      const kit = await openKit(suite);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => kit.store.createTask(kit.newTask({ maxActivePerOwner: 3 }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(3);
      expect(results.filter((r) => "limited" in r)).toHaveLength(5);
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(3);
    });
  });
}
