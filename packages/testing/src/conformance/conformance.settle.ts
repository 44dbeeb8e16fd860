import { TERMINAL_STATUSES, type TerminalEventName } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  boom,
  emitted,
  event,
  expectCode,
  type Kit,
  LEASE_MS,
  openKit,
  type Suite,
  T0,
  TERMINAL_DATA,
  TERMINAL_SETTLEMENTS,
} from "./conformance.kit";

/** `settleTask` and `requestCancel`. */
export function settleConformance(suite: Suite): void {
  const terminal = TERMINAL_SETTLEMENTS;

  describe("settleTask", () => {
    for (const status of TERMINAL_STATUSES) {
      it(`${status}: appends the terminal event at lastSeq + 1 with the status change, bumps the revision, clears the lease`, async () => {
        const kit = await openKit(suite);
        const { task, lease } = await kit.running();
        await kit.emit(lease, 2);
        await kit.store.settleTask(lease, terminal[status], T0 + 50);
        const settled = await kit.get(lease.taskId);
        expect(settled).toMatchObject({
          status,
          revision: lease.revision + 1,
          leaseOwner: null,
          leaseExpiresAt: null,
          lastSeq: 3,
          updatedAt: T0 + 50,
          attempt: 1,
        });
        const name: TerminalEventName = status;
        expect(await kit.store.readEvents(task.id, 2, 10)).toEqual([
          { seq: 3, name, data: TERMINAL_DATA, at: T0 + 50 },
        ]);
      });
    }

    it("completed stores the result", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      await kit.store.settleTask(lease, terminal.completed, T0 + 1);
      const settled = await kit.get(lease.taskId);
      expect(settled.result).toBe(terminal.completed.result);
    });

    it("failed stores the error", async () => {
      const kit = await openKit(suite);
      const { lease } = await kit.running();
      await kit.store.settleTask(lease, terminal.failed, T0 + 1);
      const settled = await kit.get(lease.taskId);
      expect(settled.error).toEqual(terminal.failed.error);
    });

    it("retrying stores the error, bumps attempt, sets runAt, bumps the revision, clears the lease, appends no event", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      const error = boom("flaky");
      await kit.store.settleTask(lease, { status: "retrying", error, runAt: T0 + 500 }, T0 + 5);
      const settled = await kit.get(lease.taskId);
      expect(settled).toMatchObject({
        status: "retrying",
        error,
        attempt: 2,
        runAt: T0 + 500,
        revision: lease.revision + 1,
        leaseOwner: null,
        leaseExpiresAt: null,
        lastSeq: 1,
        updatedAt: T0 + 5,
      });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1)]);
    });

    it("retrying: the task becomes claimable again only once runAt <= now", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(lease, { status: "retrying", error: boom(), runAt: T0 + 500 }, T0 + 5);
      expect(await kit.claim(T0 + 499)).toEqual([]);
      const [claimed] = await kit.claim(T0 + 500);
      expect(claimed?.task).toMatchObject({ id: task.id, status: "running", attempt: 2, claims: 2 });
    });

    it("queued hands the task back at runAt with attempt unchanged, bumps the revision, clears the lease", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      await kit.store.settleTask(lease, { status: "queued", runAt: T0 + 20 }, T0 + 10);
      const settled = await kit.get(lease.taskId);
      expect(settled).toMatchObject({
        status: "queued",
        attempt: 1,
        runAt: T0 + 20,
        revision: lease.revision + 1,
        leaseOwner: null,
        leaseExpiresAt: null,
        lastSeq: 1,
        error: null,
        updatedAt: T0 + 10,
      });
      expect(await kit.claim(T0 + 19)).toEqual([]);
      expect((await kit.claim(T0 + 20)).map((c) => c.task.id)).toEqual([task.id]);
    });

    it("rejects with StoreConflictError once the lease was reclaimed, changing nothing", async () => {
      const kit = await openKit(suite);
      const { stale, task } = await kit.reclaimed();
      await expectCode(kit.store.settleTask(stale, terminal.completed, T0 + LEASE_MS + 2), "STORE_CONFLICT");
      await expectCode(kit.store.settleTask(stale, { status: "queued", runAt: T0 }, T0), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toEqual(task);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
    });

    it("rejects with StoreConflictError once the task settled: a lease settles once", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(lease, terminal.completed, T0 + 1);
      const settled = await kit.get(lease.taskId);
      await expectCode(kit.store.settleTask(lease, terminal.failed, T0 + 2), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toEqual(settled);
      expect(await kit.store.readEvents(task.id, 0, 10)).toHaveLength(1);
    });
  });

  describe("requestCancel", () => {
    async function retrying(kit: Kit) {
      const { task, lease } = await kit.running();
      await kit.emit(lease, 2);
      await kit.store.settleTask(lease, { status: "retrying", error: boom(), runAt: T0 + 100 }, T0 + 1);
      return kit.get(task.id);
    }

    it("settles a queued task without children cancelled at once: terminal event appended, revision bumped, cancelRequestedAt set", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const res = await kit.store.requestCancel(task.id, T0 + 3, TERMINAL_DATA);
      expect(res.outcome).toBe("cancelled");
      expect(res.task).toMatchObject({
        status: "cancelled",
        cancelRequestedAt: T0 + 3,
        revision: task.revision + 1,
        lastSeq: 1,
      });
      expect(await kit.get(task.id)).toEqual(res.task);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([
        { seq: 1, name: "cancelled", data: TERMINAL_DATA, at: T0 + 3 },
      ]);
    });

    it("settles a retrying task without children cancelled at once, its terminal event at lastSeq + 1", async () => {
      const kit = await openKit(suite);
      const before = await retrying(kit);
      const res = await kit.store.requestCancel(before.id, T0 + 3, TERMINAL_DATA);
      expect(res.outcome).toBe("cancelled");
      expect(res.task).toMatchObject({ status: "cancelled", revision: before.revision + 1, lastSeq: 3 });
      expect(await kit.store.readEvents(before.id, 2, 10)).toEqual([
        { seq: 3, name: "cancelled", data: TERMINAL_DATA, at: T0 + 3 },
      ]);
      expect(await kit.claim(T0 + 1_000)).toEqual([]);
    });

    it("records the request on a running task, which keeps running under its lease until its worker settles it", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const res = await kit.store.requestCancel(task.id, T0 + 3, TERMINAL_DATA);
      expect(res.outcome).toBe("requested");
      expect(res.task).toMatchObject({
        status: "running",
        cancelRequestedAt: T0 + 3,
        revision: lease.revision,
      });
      expect(await kit.get(task.id)).toEqual(res.task);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      await kit.store.appendEvent(lease, emitted(0));
      await kit.store.settleTask(lease, { status: "cancelled", event: TERMINAL_DATA }, T0 + 4);
      const settled = await kit.get(lease.taskId);
      expect(settled).toMatchObject({ status: "cancelled", cancelRequestedAt: T0 + 3, lastSeq: 2 });
    });

    it("is sticky: a second request on a running task is already_requested and keeps the first time", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      await kit.store.requestCancel(task.id, T0 + 3, TERMINAL_DATA);
      const again = await kit.store.requestCancel(task.id, T0 + 9, TERMINAL_DATA);
      expect(again.outcome).toBe("already_requested");
      expect(again.task).toMatchObject({ status: "running", cancelRequestedAt: T0 + 3 });
      expect((await kit.get(task.id)).cancelRequestedAt).toBe(T0 + 3);
    });

    it("leaves a completed task unchanged (already_finished)", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(lease, terminal.completed, T0 + 1);
      const settled = await kit.get(lease.taskId);
      const res = await kit.store.requestCancel(task.id, T0 + 2, TERMINAL_DATA);
      expect(res).toEqual({ outcome: "already_finished", task: settled });
      expect(await kit.get(task.id)).toEqual(settled);
      expect(await kit.store.readEvents(task.id, 0, 10)).toHaveLength(1);
    });

    it("is idempotent on a cancelled task (already_finished, unchanged)", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const first = await kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
      const again = await kit.store.requestCancel(task.id, T0 + 2, TERMINAL_DATA);
      expect(again).toEqual({ outcome: "already_finished", task: first.task });
      expect(await kit.store.readEvents(task.id, 0, 10)).toHaveLength(1);
    });

    it("rejects with TaskNotFoundError for an unknown id", async () => {
      const kit = await openKit(suite);
      await expectCode(kit.store.requestCancel(kit.newTask().id, T0, TERMINAL_DATA), "TASK_NOT_FOUND");
    });
  });
}
