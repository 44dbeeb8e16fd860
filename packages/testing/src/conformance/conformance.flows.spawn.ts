import { encode } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { childEvents, spawn, spawnSpec } from "./conformance.flows.kit";
import {
  expectCode,
  openKit,
  ring,
  type Suite,
  stepAt,
  T0,
  TERMINAL_DATA,
  untilRung,
} from "./conformance.kit";

/** `spawnChild`: a child task created atomically under the parent's lease. */
export function spawnConformance(suite: Suite): void {
  describe("spawnChild", () => {
    it("writes the spawn checkpoint and the parent's child event (queued) at lastSeq + 1, emits unchanged", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      const spec = spawnSpec(kit, 0, T0 + 7);
      await kit.store.spawnChild(lease, spec);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [spec.step], eventNames: ["progress"] });
      expect(await kit.store.readEvents(task.id, 1, 10)).toEqual([
        { seq: 2, name: "child", data: spec.event, at: T0 + 7 },
      ]);
      expect(await kit.get(task.id)).toMatchObject({
        status: "running",
        revision: lease.revision,
        lastSeq: 2,
        emits: 1,
      });
      expect(await kit.store.getTask(spec.child.id)).toBeDefined();
    });

    it("creates the child queued, with the parent's owner and identity and parentId = the parent", async () => {
      const kit = await openKit(suite);
      const identity = encode({ id: `${kit.owner}-2`, roles: ["viewer"] });
      const { task, lease } = await kit.running({ owner: `${kit.owner}-2`, identity });
      const spec = spawnSpec(kit, 0, T0 + 3);
      spec.child.runAt = T0 + 40;
      await kit.store.spawnChild(lease, spec);
      const child = await kit.get(spec.child.id);
      expect(child).toMatchObject({
        id: spec.child.id,
        name: spec.child.name,
        input: spec.child.input,
        runAt: T0 + 40,
        status: "queued",
        owner: `${kit.owner}-2`,
        identity,
        parentId: task.id,
      });
      expect((await kit.store.listTasks({ parentId: task.id })).map((t) => t.id)).toEqual([child.id]);
      // Queued at its runAt: claimable from then on, like any queued task.
      expect(await kit.claim(T0 + 39, 10, "w", [child.name])).toEqual([]);
      expect((await kit.claim(T0 + 40, 10, "w", [child.name])).map((c) => c.task.id)).toEqual([child.id]);
    });

    it("is fenced: rejects with StoreConflictError once the lease was reclaimed, writing nothing", async () => {
      const kit = await openKit(suite);
      const { stale, fresh, task } = await kit.reclaimed();
      const spec = spawnSpec(kit, 0);
      await expectCode(kit.store.spawnChild(stale, spec), "STORE_CONFLICT");
      expect(await kit.store.getTask(spec.child.id)).toBeUndefined();
      expect(await kit.get(task.id)).toEqual(task);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [], eventNames: [] });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      await kit.store.spawnChild(fresh, spec);
    });

    it("rejects with StoreConflictError when the checkpoint position is taken, creating no second child", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const first = await spawn(kit, lease, 0);
      await kit.store.appendStep(lease, stepAt(1));
      const again = spawnSpec(kit, 0);
      const onStep = spawnSpec(kit, 1);
      await expectCode(kit.store.spawnChild(lease, again), "STORE_CONFLICT");
      await expectCode(kit.store.spawnChild(lease, onStep), "STORE_CONFLICT");
      expect(await kit.store.getTask(again.child.id)).toBeUndefined();
      expect(await kit.store.getTask(onStep.child.id)).toBeUndefined();
      expect((await kit.store.listTasks({ parentId: task.id })).map((t) => t.id)).toEqual([first.id]);
      expect((await childEvents(kit, task.id)).map((e) => e.data.taskId)).toEqual([first.id]);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 1, emits: 0 });
      expect((await kit.store.loadHistory(task.id)).steps.map((s) => s.key)).toEqual([
        "spawn#0",
        "fetchRows#1",
      ]);
    });

    it("rejects with CancelledError when the parent has a cancel request, writing nothing", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      expect((await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA)).outcome).toBe("requested");
      const before = await kit.get(task.id);
      const spec = spawnSpec(kit, 0);
      await expectCode(kit.store.spawnChild(lease, spec), "CANCELLED");
      expect(await kit.store.getTask(spec.child.id)).toBeUndefined();
      expect(await kit.get(task.id)).toEqual(before);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [], eventNames: [] });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
    });

    it("rings the parent's event watchers once its child event is readable", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const bell = ring(kit.ringTimeoutMs, "parent watchEvents ring");
      const unwatch = kit.store.watchEvents(task.id, bell.fn);
      try {
        await spawn(kit, lease, 0);
        await untilRung(
          bell,
          async () => (await kit.store.readEvents(task.id, 0, 10)).length === 1,
          kit.ringTimeoutMs,
          "a parent ring after spawnChild",
        );
      } finally {
        unwatch();
      }
    });
  });
}
