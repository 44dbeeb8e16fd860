import { type Lease, NEVER_DUE, type TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { failedTask, park } from "./conformance.flows.kit";
import {
  boom,
  emitted,
  expectCode,
  type Kit,
  openKit,
  type Suite,
  T0,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";
import { outcomes } from "./conformance.race";

/** A task in each status `retryTask` must refuse. */
const refused: Record<string, (kit: Kit) => Promise<TaskRecord>> = {
  queued: (kit) => kit.create(),
  running: async (kit) => (await kit.running()).task,
  retrying: (kit) =>
    settled(kit, (lease) =>
      kit.store.settleTask(lease, { status: "retrying", error: boom(), runAt: T0 + 9 }, T0),
    ),
  waiting: (kit) => settled(kit, (lease) => park(kit, lease, {}, NEVER_DUE, T0)),
  completed: (kit) =>
    settled(kit, (lease) => kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.completed, T0)),
  cancelled: (kit) =>
    settled(kit, (lease) => kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.cancelled, T0)),
};

async function settled(kit: Kit, settle: (lease: Lease) => Promise<unknown>): Promise<TaskRecord> {
  const { lease } = await kit.running();
  await settle(lease);
  return kit.get(lease.taskId);
}

/** `retryTask`: a failed task runs again, its WAL continuing after the `failed` event. */
export function retryConformance(suite: Suite): void {
  describe("retryTask", () => {
    it("puts a failed task back to queued at now: attempt + 1, revision bumped; resolves to the task", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      const retried = await kit.store.retryTask(failed.id, T0 + 100);
      expect(retried).toMatchObject({ id: failed.id, status: "queued", attempt: 2, runAt: T0 + 100 });
      expect(retried.revision).toBeGreaterThan(failed.revision);
      expect(await kit.get(failed.id)).toEqual(retried);
    });

    it("makes the task claimable at now", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      await kit.store.retryTask(failed.id, T0 + 100);
      const [claimed] = await kit.claim(T0 + 100);
      expect(claimed?.task).toMatchObject({ id: failed.id, status: "running", attempt: 2, claims: 2 });
    });

    it("keeps the failed event: the new run's next event takes the seq after it, its emit position continuing from emits", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      expect(failed).toMatchObject({ lastSeq: 3, emits: 2 });
      await kit.store.retryTask(failed.id, T0 + 100);
      const [claimed] = await kit.claim(T0 + 100);
      const lease = claimed!.lease;
      await expectCode(kit.store.appendEvent(lease, emitted(3)), "STORE_CONFLICT");
      expect(await kit.store.appendEvent(lease, emitted(2, "resumed"))).toBe(4);
      const events = await kit.store.readEvents(failed.id, 0, 10);
      expect(events.map((e) => [e.seq, e.name])).toEqual([
        [1, "progress"],
        [2, "progress"],
        [3, "failed"],
        [4, "resumed"],
      ]);
      expect(await kit.get(failed.id)).toMatchObject({ lastSeq: 4, emits: 3 });
    });

    it("loadHistory leaves the kept failed event out of eventNames", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      await kit.store.retryTask(failed.id, T0 + 100);
      const [claimed] = await kit.claim(T0 + 100);
      await kit.store.appendEvent(claimed!.lease, emitted(2, "resumed"));
      expect((await kit.store.loadHistory(failed.id)).eventNames).toEqual([
        "progress",
        "progress",
        "resumed",
      ]);
    });

    for (const [status, make] of Object.entries(refused)) {
      it(`rejects a ${status} task with NotResumableError naming its status, changing nothing`, async () => {
        const kit = await openKit(suite);
        const task = await make(kit);
        expect(task.status).toBe(status);
        const details = await expectCode(kit.store.retryTask(task.id, T0 + 100), "NOT_RESUMABLE");
        expect(details).toMatchObject({ status });
        expect(await kit.get(task.id)).toEqual(task);
      });
    }

    it("rejects with TaskNotFoundError for an unknown id", async () => {
      const kit = await openKit(suite);
      await expectCode(kit.store.retryTask(kit.newTask().id, T0), "TASK_NOT_FOUND");
    });

    it("of two racing retries exactly one succeeds, the other gets NotResumableError", async () => {
      const kit = await openKit(suite);
      const failed = await failedTask(kit);
      const results = await Promise.allSettled([
        kit.store.retryTask(failed.id, T0 + 100),
        kit.store.retryTask(failed.id, T0 + 100),
      ]);
      expect(outcomes(results, "NOT_RESUMABLE")).toHaveLength(1);
      expect(await kit.get(failed.id)).toMatchObject({ status: "queued", attempt: 2 });
    });
  });
}
