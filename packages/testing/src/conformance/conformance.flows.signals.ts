import { encode, NEVER_DUE, type NewSignal, TERMINAL_STATUSES } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { park } from "./conformance.flows.kit";
import {
  expectCode,
  type Kit,
  LEASE_MS,
  openKit,
  type Suite,
  T0,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";

/** A signal for `taskId` named `name` whose payload is `{ n }`. */
function signal(taskId: string, name: string, n: number, more: Partial<NewSignal> = {}): NewSignal {
  return { taskId, name, payload: encode({ n }), now: T0 + 20, ...more };
}

/** Delivers `signal`s one after another; returns their indices. */
async function deliverAll(kit: Kit, signals: NewSignal[]): Promise<number[]> {
  const indices: number[] = [];
  for (const s of signals) indices.push((await kit.store.deliverSignal(s)).index);
  return indices;
}

/** `deliverSignal` and `readSignal`. */
export function signalsConformance(suite: Suite): void {
  describe("deliverSignal / readSignal", () => {
    it("records signals of one name in arrival order: indices 0, 1, 2, each readable by its index", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const sent = [0, 1, 2].map((n) => signal(task.id, "approve", n));
      const results = [];
      for (const s of sent) results.push(await kit.store.deliverSignal(s));
      expect(results.map((r) => [r.index, r.duplicate])).toEqual([
        [0, false],
        [1, false],
        [2, false],
      ]);
      for (const [i, s] of sent.entries())
        expect(await kit.store.readSignal(task.id, "approve", i)).toBe(s.payload);
      expect(await kit.store.readSignal(task.id, "approve", 3)).toBeUndefined();
    });

    it("counts each name on its own", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const sent = [
        signal(task.id, "a", 1),
        signal(task.id, "b", 2),
        signal(task.id, "a", 3),
        signal(task.id, "b", 4),
      ];
      expect(await deliverAll(kit, sent)).toEqual([0, 0, 1, 1]);
      expect(await kit.store.readSignal(task.id, "a", 1)).toBe(sent[2]!.payload);
      expect(await kit.store.readSignal(task.id, "b", 0)).toBe(sent[1]!.payload);
      expect(await kit.store.readSignal(task.id, "c", 0)).toBeUndefined();
    });

    it("readSignal of an unknown task is undefined", async () => {
      const kit = await openKit(suite);
      expect(await kit.store.readSignal(kit.newTask().id, "approve", 0)).toBeUndefined();
    });

    it("an idempotency key already used for the task returns the first delivery (duplicate true), writing nothing", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const first = await kit.store.deliverSignal(signal(task.id, "approve", 1, { idempotencyKey: "k1" }));
      const again = await kit.store.deliverSignal(signal(task.id, "approve", 2, { idempotencyKey: "k1" }));
      expect(first).toMatchObject({ index: 0, duplicate: false });
      expect(again).toMatchObject({ index: 0, duplicate: true, task: { id: task.id } });
      expect(await kit.store.readSignal(task.id, "approve", 0)).toBe(encode({ n: 1 }));
      expect(await kit.store.readSignal(task.id, "approve", 1)).toBeUndefined();
      expect((await kit.store.deliverSignal(signal(task.id, "approve", 3))).index).toBe(1);
    });

    it("idempotency keys are per task: the same key on another task is a new delivery", async () => {
      const kit = await openKit(suite);
      const [a, b] = [await kit.create(), await kit.create()];
      await kit.store.deliverSignal(signal(a.id, "approve", 1, { idempotencyKey: "k1" }));
      const other = await kit.store.deliverSignal(signal(b.id, "approve", 2, { idempotencyKey: "k1" }));
      expect(other).toMatchObject({ index: 0, duplicate: false });
      expect(await kit.store.readSignal(b.id, "approve", 0)).toBe(encode({ n: 2 }));
    });

    it("rejects with TaskNotFoundError for an unknown task", async () => {
      const kit = await openKit(suite);
      await expectCode(kit.store.deliverSignal(signal(kit.newTask().id, "approve", 1)), "TASK_NOT_FOUND");
    });

    for (const status of TERMINAL_STATUSES) {
      it(`rejects with TaskFinishedError for a ${status} task, recording nothing`, async () => {
        const kit = await openKit(suite);
        const { task, lease } = await kit.running();
        await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS[status], T0 + 5);
        const settled = await kit.get(task.id);
        const details = await expectCode(
          kit.store.deliverSignal(signal(task.id, "approve", 1)),
          "TASK_FINISHED",
        );
        expect(details).toMatchObject({ taskId: task.id, status });
        expect(await kit.store.readSignal(task.id, "approve", 0)).toBeUndefined();
        expect(await kit.get(task.id)).toEqual(settled);
      });
    }

    it("answers a duplicate key before TaskFinishedError", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.deliverSignal(signal(task.id, "approve", 1, { idempotencyKey: "k1" }));
      await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.completed, T0 + 30);
      const again = await kit.store.deliverSignal(signal(task.id, "approve", 2, { idempotencyKey: "k1" }));
      expect(again).toMatchObject({ index: 0, duplicate: true, task: { id: task.id } });
    });

    it("wakes a waiting task: queued at now, revision bumped; the result is the woken task", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const parked = await park(kit, lease, { signals: [{ name: "approve", index: 0 }] }, NEVER_DUE, T0 + 5);
      const res = await kit.store.deliverSignal(signal(task.id, "approve", 1, { now: T0 + 30 }));
      expect(res).toMatchObject({ index: 0, duplicate: false, task: { status: "queued", runAt: T0 + 30 } });
      expect(res.task.revision).toBeGreaterThan(parked.revision);
      expect(await kit.get(task.id)).toEqual(res.task);
      expect((await kit.claim(T0 + 30)).map((c) => c.task.id)).toEqual([task.id]);
    });

    it("leaves a running task running under its lease", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const res = await kit.store.deliverSignal(signal(task.id, "approve", 1));
      expect(res.task).toMatchObject({
        status: "running",
        revision: lease.revision,
        leaseOwner: lease.workerId,
      });
      expect((await kit.store.renewLease(lease, T0 + 31, LEASE_MS)).held).toBe(true);
      expect(await kit.store.readSignal(task.id, "approve", 0)).toBe(encode({ n: 1 }));
    });

    it("is atomic: concurrent deliveries of one name get indices 0..n-1, each with its own payload", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const sent = Array.from({ length: 10 }, (_, n) => signal(task.id, "vote", n));
      const results = await Promise.all(sent.map((s) => kit.store.deliverSignal(s)));
      expect(results.map((r) => r.index).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
      for (const [n, r] of results.entries()) {
        expect(await kit.store.readSignal(task.id, "vote", r.index)).toBe(sent[n]!.payload);
      }
    });
  });
}
