import type { CreateTaskResult, TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { LEASE_MS, openKit, type Suite, T0 } from "./conformance.kit";

/** `open`, `close`, `createTask` and `getTask`. */
export function createConformance(suite: Suite): void {
  describe("open / close", () => {
    it("open is idempotent", async () => {
      const kit = await openKit(suite);
      await kit.store.open();
      await kit.create();
      await kit.store.open();
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(1);
    });

    it("close is idempotent", async () => {
      const kit = await openKit(suite);
      await kit.store.close();
      await kit.store.close();
    });

    it("other calls after close reject", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      await kit.store.close();
      await expect(kit.store.getTask(task.id)).rejects.toBeDefined();
      await expect(kit.store.createTask(kit.newTask())).rejects.toBeDefined();
      await expect(kit.store.listTasks({ owner: kit.owner })).rejects.toBeDefined();
      await expect(kit.store.readEvents(task.id, 0, 10)).rejects.toBeDefined();
    });
  });

  describe("createTask", () => {
    it("inserts a queued task: revision 1, attempt 1, claims 0, lastSeq 0, emits 0, fields as given", async () => {
      const kit = await openKit(suite);
      const parent = await kit.create();
      const spec = kit.newTask({ parentId: parent.id, runAt: T0 + 5, now: T0 + 1 });
      const res = await kit.store.createTask(spec);
      expect(res).toEqual({ created: true, task: expect.any(Object) });
      const expected = {
        id: spec.id,
        name: spec.name,
        status: "queued",
        revision: 1,
        input: spec.input,
        result: null,
        error: null,
        owner: spec.owner,
        identity: spec.identity,
        attempt: 1,
        claims: 0,
        runAt: T0 + 5,
        leaseOwner: null,
        leaseExpiresAt: null,
        cancelRequestedAt: null,
        lastSeq: 0,
        emits: 0,
        parentId: parent.id,
        priority: 0,
        createdAt: T0 + 1,
        updatedAt: T0 + 1,
      };
      expect(taskOf(res)).toEqual(expected);
      expect(await kit.store.getTask(spec.id)).toEqual(expected);
    });

    it("keeps a null identity and a null parent", async () => {
      const kit = await openKit(suite);
      const task = await kit.create({ identity: null, parentId: null });
      expect(await kit.get(task.id)).toMatchObject({ identity: null, parentId: null });
    });

    it("with claimFor inserts the task running under a lease (claims 1, revision 2) and returns the lease", async () => {
      const kit = await openKit(suite);
      const spec = kit.newTask({ claimFor: { workerId: "starter", leaseMs: LEASE_MS } });
      const res = await kit.store.createTask(spec);
      if (!res.created) throw new Error("not created");
      expect(res.lease).toEqual({ taskId: spec.id, workerId: "starter", revision: 2 });
      const expected = {
        status: "running",
        revision: 2,
        claims: 1,
        attempt: 1,
        lastSeq: 0,
        emits: 0,
        leaseOwner: "starter",
        leaseExpiresAt: T0 + LEASE_MS,
      };
      expect(taskOf(res)).toMatchObject(expected);
      expect(await kit.get(spec.id)).toMatchObject(expected);
      // The returned lease is a working fencing token.
      expect(await kit.store.renewLease(res.lease!, T0 + 1, LEASE_MS)).toEqual({
        held: true,
        cancelRequested: false,
      });
    });
  });

  describe("createTask idempotency", () => {
    const idem = (key: string, inputHash = "hash-1", expiresAt = T0 + 86_400_000) => ({
      idempotency: { key, inputHash, expiresAt },
    });

    it("the same owner, task name and unexpired key returns the existing task (created false, conflict false)", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1"));
      const again = kit.newTask({ ...idem("k1"), now: T0 + 10 });
      const res = await kit.store.createTask(again);
      expect(res).toEqual({ created: false, conflict: false, task: await kit.get(first.id) });
      expect(await kit.store.getTask(again.id)).toBeUndefined();
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(1);
    });

    it("a reuse with a different input hash returns the existing task with conflict true", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1", "hash-1"));
      const again = kit.newTask({ ...idem("k1", "hash-2"), now: T0 + 10 });
      const res = await kit.store.createTask(again);
      expect(res).toEqual({ created: false, conflict: true, task: await kit.get(first.id) });
      expect(await kit.store.getTask(again.id)).toBeUndefined();
    });

    it("a deduplicated create with claimFor inserts and claims nothing", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1"));
      const res = await kit.store.createTask(
        kit.newTask({ ...idem("k1"), claimFor: { workerId: "starter", leaseMs: LEASE_MS } }),
      );
      expect(res.created).toBe(false);
      expect("lease" in res && res.lease !== undefined).toBe(false);
      expect(await kit.get(first.id)).toEqual(first);
    });

    it("the same key from a different owner creates a new task", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1"));
      const res = await kit.store.createTask(kit.newTask({ ...idem("k1"), owner: `${kit.owner}-other` }));
      expect(res.created).toBe(true);
      expect(taskOf(res).id).not.toBe(first.id);
    });

    it("the same key for a different task name creates a new task", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1"));
      const res = await kit.store.createTask(kit.newTask({ ...idem("k1"), name: `${kit.name}.other` }));
      expect(res.created).toBe(true);
      expect(taskOf(res).id).not.toBe(first.id);
    });

    it("an expired key is taken over by the new task", async () => {
      const kit = await openKit(suite);
      const first = await kit.create(idem("k1", "hash-1", T0 + 100));
      const takeover = kit.newTask({ ...idem("k1", "hash-2", T0 + 1_000), now: T0 + 101 });
      const res = await kit.store.createTask(takeover);
      expect(res.created).toBe(true);
      expect(taskOf(res).id).toBe(takeover.id);
      expect(await kit.store.getTask(first.id)).toBeDefined();
      // From now on the key deduplicates to the new task, with the new hash.
      const later = await kit.store.createTask(kit.newTask({ ...idem("k1", "hash-2"), now: T0 + 500 }));
      expect(later).toMatchObject({ created: false, conflict: false, task: { id: takeover.id } });
    });

    it("is atomic with its idempotency check: concurrent creates with one key insert one task", async () => {
      const kit = await openKit(suite);
      const specs = Array.from({ length: 8 }, () => kit.newTask(idem("race")));
      const results = await Promise.all(specs.map((s) => kit.store.createTask(s)));
      const winners = results.filter((r) => r.created);
      expect(winners).toHaveLength(1);
      const winnerId = taskOf(winners[0]!).id;
      for (const r of results) expect(taskOf(r).id).toBe(winnerId);
      expect(results.filter((r) => !r.created && "conflict" in r && r.conflict)).toHaveLength(0);
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(1);
    });
  });

  describe("getTask", () => {
    it("returns undefined for an unknown id", async () => {
      const kit = await openKit(suite);
      expect(await kit.store.getTask(kit.newTask().id)).toBeUndefined();
    });
  });
}

/** The task of a create that no limit refused. */
function taskOf(res: CreateTaskResult): TaskRecord {
  if (!("task" in res)) throw new Error(`createTask was refused by ${res.limit}`);
  return res.task;
}
