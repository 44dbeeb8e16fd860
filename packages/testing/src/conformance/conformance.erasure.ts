import { encode, type TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { spawnSpec } from "./conformance.flows.kit";
import {
  emitted,
  expectCode,
  LEASE_MS,
  openKit,
  type Suite,
  stepAt,
  T0,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";
import { expectGone, finishedRoot } from "./conformance.retention";

/** `deleteTasksOfOwner`: erasure of one owner's tasks, in any status. */
export function erasureConformance(suite: Suite): void {
  describe("deleteTasksOfOwner", () => {
    it("deletes that owner's tasks in any status, children included, with their rows; other owners keep theirs", async () => {
      const kit = await openKit(suite);
      const erased = `${kit.ns}-erased`;
      const queued = await kit.create({ owner: erased });
      const running = await kit.running({ owner: erased });
      await kit.store.appendStep(running.lease, stepAt(0, 1));
      await kit.emit(running.lease, 1);
      await kit.store.deliverSignal({ taskId: running.task.id, name: "go", payload: encode(1), now: T0 });
      const spawn = spawnSpec(kit, 1);
      await kit.store.spawnChild(running.lease, spawn);
      const done = await finishedRoot(kit, T0, { owner: erased });
      const idempotency = { key: "k", inputHash: "h", expiresAt: T0 + 1_000_000 };
      const keyed = await kit.create({ owner: erased, idempotency });
      const kept = await kit.create();
      const keptFinished = await finishedRoot(kit, T0);
      const ids = [queued.id, running.task.id, spawn.child.id, done.id, keyed.id];

      let total = 0;
      for (const limit of [2, 2, 2, 2]) {
        const n = await kit.store.deleteTasksOfOwner(erased, limit);
        expect(n).toBeLessThanOrEqual(limit);
        total += n;
      }
      expect(total).toBe(ids.length);
      expect(await kit.store.deleteTasksOfOwner(erased, 10)).toBe(0);
      for (const id of ids) await expectGone(kit, id);
      expect(await kit.store.readSignal(running.task.id, "go", 0)).toBeUndefined();
      expect(await kit.store.listTasks({ owner: erased })).toEqual([]);
      expect(await kit.store.getTask(kept.id)).toEqual(kept);
      expect(await kit.store.getTask(keptFinished.id)).toEqual(keptFinished);
      const again = await kit.store.createTask(kit.newTask({ owner: erased, idempotency }));
      expect(again.created).toBe(true);
    });

    it("deletes newest first and at most `limit` per call", async () => {
      const kit = await openKit(suite);
      const erased = `${kit.ns}-erased`;
      const tasks: TaskRecord[] = [];
      for (let i = 0; i < 3; i++) tasks.push(await kit.create({ owner: erased, now: T0 + i }));
      expect(await kit.store.deleteTasksOfOwner(erased, 0)).toBe(0);
      expect(await kit.store.deleteTasksOfOwner(erased, 2)).toBe(2);
      expect((await kit.store.listTasks({ owner: erased })).map((t) => t.id)).toEqual([tasks[0]!.id]);
    });

    it("a worker running a deleted task has lost it: fenced writes reject with StoreConflictError, nothing comes back", async () => {
      const kit = await openKit(suite);
      const erased = `${kit.ns}-erased`;
      const { task, lease } = await kit.running({ owner: erased });
      await kit.emit(lease, 1);
      expect(await kit.store.deleteTasksOfOwner(erased, 10)).toBe(1);

      await expectCode(kit.store.appendStep(lease, stepAt(0)), "STORE_CONFLICT");
      await expectCode(kit.store.appendEvent(lease, emitted(1)), "STORE_CONFLICT");
      await expectCode(kit.store.spawnChild(lease, spawnSpec(kit, 0)), "STORE_CONFLICT");
      await expectCode(kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.completed, T0 + 1), "STORE_CONFLICT");
      await expectCode(
        kit.store.settleTask(lease, { status: "queued", runAt: T0 }, T0 + 1),
        "STORE_CONFLICT",
      );
      expect((await kit.store.renewLease(lease, T0 + 2, LEASE_MS)).held).toBe(false);
      await expectGone(kit, task.id);
      expect(await kit.claim(T0 + LEASE_MS + 1)).toEqual([]);
    });
  });
}
