import { encode, type NewTask, type TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { claimChild, spawn } from "./conformance.flows.kit";
import { type Kit, openKit, openSecond, type Suite, stepAt, TERMINAL_SETTLEMENTS } from "./conformance.kit";

/**
 * Purges are store-wide (not scoped to a test's names), so each test works in an era of its own, far below
 * `T0` and below every earlier test's era: its cutoffs never reach tasks another test left behind.
 */
let eras = 0;
/** A new era: a base time of its own, far below `T0` and below every earlier era (see above). */
export function era(): number {
  eras += 1;
  return 500_000_000_000 - eras * 10_000_000;
}

/** A root task run and settled `completed` (or `status`) at `at`: finished, with `updatedAt = at`. */
export async function finishedRoot(
  kit: Kit,
  at: number,
  overrides: Partial<NewTask> = {},
  status: keyof typeof TERMINAL_SETTLEMENTS = "completed",
): Promise<TaskRecord> {
  const { lease } = await kit.running({ now: at, runAt: at, ...overrides });
  await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS[status], at);
  return kit.get(lease.taskId);
}

/** Whether nothing of the task is left: no record, no events, no checkpoints. */
export async function expectGone(kit: Kit, taskId: string): Promise<void> {
  expect(await kit.store.getTask(taskId), `task ${taskId}`).toBeUndefined();
  expect(await kit.store.readEvents(taskId, 0, 100)).toEqual([]);
  expect(await kit.store.loadHistory(taskId)).toEqual({ steps: [], eventNames: [] });
}

/**
 * A finished tree of three generations at `at`: a root, its child, the child's child (each completed
 * after its own child). With `openLeaf`, the grandchild is left `queued` (the tree is not finished).
 */
async function threeGenerations(kit: Kit, at: number, openLeaf = false) {
  const { lease } = await kit.running({ now: at, runAt: at });
  const child = await spawn(kit, lease, 0, at);
  const childLease = await claimChild(kit, child.id, at + 1);
  const grandchild = await spawn(kit, childLease, 0, at + 1);
  if (!openLeaf) {
    const leaf = await claimChild(kit, grandchild.id, at + 2);
    await kit.emit(leaf, 1);
    await kit.store.settleTask(leaf, TERMINAL_SETTLEMENTS.completed, at + 2);
  }
  await kit.store.settleTask(childLease, TERMINAL_SETTLEMENTS.completed, at + 3);
  await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.completed, at + 4);
  return { root: lease.taskId, child: child.id, grandchild: grandchild.id };
}

/** `purgeTasks`: retention of finished root tasks, whole trees at a time. */
export function retentionConformance(suite: Suite): void {
  describe("purgeTasks", () => {
    it("deletes finished roots older than the cutoff with their checkpoints, events, signals; others stay", async () => {
      const kit = await openKit(suite);
      const b = era();
      const { lease } = await kit.running({ now: b + 1, runAt: b + 1 });
      await kit.store.appendStep(lease, { ...stepAt(0, 1), startedAt: b, at: b + 1 });
      await kit.emit(lease, 2);
      await kit.store.deliverSignal({ taskId: lease.taskId, name: "go", payload: encode(1), now: b + 1 });
      await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.completed, b + 2);
      const failed = await finishedRoot(kit, b + 3, {}, "failed");
      const cancelled = await kit.create({ now: b + 4, runAt: b + 4 });
      expect((await kit.store.requestCancel(cancelled.id, b + 4, "{}")).outcome).toBe("cancelled");
      const young = await finishedRoot(kit, b + 100);
      const running = await kit.running({ now: b + 1, runAt: b + 1 });
      const queued = await kit.create({ now: b + 1, runAt: b + 1 });

      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 100 })).toBe(3);
      for (const id of [lease.taskId, failed.id, cancelled.id]) await expectGone(kit, id);
      expect(await kit.store.readSignal(lease.taskId, "go", 0)).toBeUndefined();
      expect(await kit.store.getTask(young.id)).toEqual(young);
      expect(await kit.store.getTask(running.task.id)).toEqual(running.task);
      expect(await kit.store.getTask(queued.id)).toEqual(queued);
      expect((await kit.store.readEvents(young.id, 0, 10)).map((e) => e.name)).toEqual(["completed"]);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 100 })).toBe(0);
    });

    it("the cutoff is strict: a root finished exactly at finishedBefore stays", async () => {
      const kit = await openKit(suite);
      const b = era();
      const edge = await finishedRoot(kit, b + 10);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 10, limit: 10 })).toBe(0);
      expect(await kit.store.getTask(edge.id)).toEqual(edge);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 11, limit: 10 })).toBe(1);
    });

    it("takes every descendant with its root, any depth, and counts every task row it deleted", async () => {
      const kit = await openKit(suite);
      const b = era();
      const tree = await threeGenerations(kit, b);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 1 })).toBe(3);
      for (const id of [tree.root, tree.child, tree.grandchild]) await expectGone(kit, id);
    });

    it("leaves a tree with an unfinished descendant whole, and it does not count against the limit", async () => {
      const kit = await openKit(suite);
      const b = era();
      const open = await threeGenerations(kit, b, true); // the oldest root, but its grandchild is queued
      const done = await finishedRoot(kit, b + 20);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 1 })).toBe(1);
      await expectGone(kit, done.id);
      for (const id of [open.root, open.child, open.grandchild])
        expect(await kit.store.getTask(id), id).toBeDefined();

      const leaf = await claimChild(kit, open.grandchild, b + 30);
      await kit.store.settleTask(leaf, TERMINAL_SETTLEMENTS.cancelled, b + 30);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 1 })).toBe(3);
      for (const id of [open.root, open.child, open.grandchild]) await expectGone(kit, id);
    });

    it("deletes at most `limit` roots per call, oldest first; a limit of 0 deletes nothing", async () => {
      const kit = await openKit(suite);
      const b = era();
      const roots: TaskRecord[] = [];
      for (const offset of [5, 1, 4, 2, 3]) roots.push(await finishedRoot(kit, b + offset));
      const byAge = [...roots].sort((x, y) => x.updatedAt - y.updatedAt).map((t) => t.id);
      const alive = async () =>
        (await Promise.all(byAge.map((id) => kit.store.getTask(id)))).filter((t) => t).map((t) => t!.id);

      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 0 })).toBe(0);
      expect(await alive()).toEqual(byAge);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 2 })).toBe(2);
      expect(await alive()).toEqual(byAge.slice(2));
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 2 })).toBe(2);
      expect(await alive()).toEqual(byAge.slice(4));
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 2 })).toBe(1);
      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 2 })).toBe(0);
    });

    it("frees the idempotency key of a purged task: the same key starts a new task", async () => {
      const kit = await openKit(suite);
      const b = era();
      const idempotency = { key: "report-1", inputHash: "h1", expiresAt: b + 1_000_000 };
      const first = await finishedRoot(kit, b + 1, { idempotency });
      const again = await kit.store.createTask(kit.newTask({ idempotency, now: b + 2, runAt: b + 2 }));
      expect(again).toMatchObject({ created: false, task: { id: first.id } });

      expect(await kit.store.purgeTasks({ finishedBefore: b + 50, limit: 10 })).toBe(1);
      const fresh = await kit.store.createTask(kit.newTask({ idempotency, now: b + 60, runAt: b + 60 }));
      expect(fresh.created).toBe(true);
      if (fresh.created) expect(fresh.task.id).not.toBe(first.id);
    });
  });

  describe("purgeTasks across instances", () => {
    it.runIf(suite.options.secondInstance)(
      "two instances purging at once delete every finished tree exactly once, without an error",
      async () => {
        const a = await openKit(suite);
        const second = await openSecond(suite, a);
        const b = era();
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) {
          if (i % 4 === 0) {
            const tree = await threeGenerations(a, b + i * 10);
            ids.push(tree.root, tree.child, tree.grandchild);
          } else ids.push((await finishedRoot(a, b + i * 10)).id);
        }
        const alive = async () => (await Promise.all(ids.map((id) => a.store.getTask(id)))).filter(Boolean);
        // A store may answer 0 while the other instance purges: loop until nothing is left, not until 0.
        const sweep = async (kit: Kit) => {
          let deleted = 0;
          for (let round = 0; round < 200; round++) {
            const n = await kit.store.purgeTasks({ finishedBefore: b + 1_000, limit: 2 });
            deleted += n;
            if (n === 0 && (await alive()).length === 0) return deleted;
          }
          throw new Error("the purge loop did not finish");
        };
        const [byA, byB] = await Promise.all([sweep(a), sweep(second)]);
        expect(byA + byB).toBe(ids.length);
        for (const id of ids) await expectGone(second, id);
      },
    );
  });
}
