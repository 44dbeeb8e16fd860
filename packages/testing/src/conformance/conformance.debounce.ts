import { type CreateTaskResult, encode, type NewTask, type TaskRecord } from "@taskwire/core/store";
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
import { era } from "./conformance.retention";

const PERIOD = 1_000;

/** A debounced start of `kit`'s task with key `key` at `now` (due `PERIOD` later) carrying `input`. */
function debounced(kit: Kit, input: unknown, now = T0, overrides: Partial<NewTask> = {}): NewTask {
  return kit.newTask({
    input: encode(input),
    identity: encode({ id: kit.owner, at: now }),
    now,
    runAt: now + PERIOD,
    debounce: { key: "doc-1" },
    ...overrides,
  });
}

/** Asserts a created result and returns its task. */
function createdTask(result: CreateTaskResult): TaskRecord {
  expect(result).toMatchObject({ created: true });
  if (!result.created) throw new Error("expected a created task");
  return result.task;
}

/** `createTask` with `debounce`: starts of one key fold into one queued task until a worker claims it. */
export function debounceConformance(suite: Suite): void {
  describe("createTask with debounce", () => {
    it("inserts the first start queued at runAt, never claimed, even with claimFor", async () => {
      const kit = await openKit(suite);
      const spec = debounced(kit, { v: 1 }, T0, { claimFor: { workerId: "w", leaseMs: LEASE_MS } });
      const result = await kit.store.createTask(spec);
      const task = createdTask(result);
      expect(result).not.toHaveProperty("lease");
      expect(task).toMatchObject({
        status: "queued",
        claims: 0,
        revision: 1,
        runAt: T0 + PERIOD,
        leaseOwner: null,
      });
      expect(await kit.get(spec.id)).toEqual(task);
    });

    it("folds later starts into the same task: latest input and identity, runAt pushed, new revision", async () => {
      const kit = await openKit(suite);
      const first = createdTask(await kit.store.createTask(debounced(kit, { v: 1 })));
      const second = debounced(kit, { v: 2 }, T0 + 300);
      const folded = await kit.store.createTask(second);
      expect(folded).toMatchObject({
        created: false,
        conflict: false,
        debounced: true,
        task: { id: first.id },
      });
      const third = await kit.store.createTask(debounced(kit, { v: 3 }, T0 + 700));
      expect(third).toMatchObject({ created: false, debounced: true, task: { id: first.id } });
      const task = await kit.get(first.id);
      expect(task).toMatchObject({
        status: "queued",
        claims: 0,
        input: encode({ v: 3 }),
        identity: encode({ id: kit.owner, at: T0 + 700 }),
        runAt: T0 + 700 + PERIOD,
        updatedAt: T0 + 700,
        createdAt: T0,
      });
      expect(task.revision).toBeGreaterThan(first.revision);
      expect("task" in third && third.task).toEqual(task);
      expect(await kit.store.getTask(second.id)).toBeUndefined();
      expect(await kit.store.listTasks({ owner: kit.owner })).toHaveLength(1);
      // Not due before the last start's period has passed.
      expect(await kit.claim(T0 + 700 + PERIOD - 1)).toEqual([]);
      const [claimed] = await kit.claim(T0 + 700 + PERIOD);
      expect(claimed?.task).toMatchObject({ id: first.id, input: encode({ v: 3 }) });
    });

    it("caps runAt at the window's first start + maxWaitMs", async () => {
      const kit = await openKit(suite);
      const debounce = { key: "doc-1", maxWaitMs: 1_500 };
      const first = createdTask(await kit.store.createTask(debounced(kit, 1, T0, { debounce })));
      await kit.store.createTask(debounced(kit, 2, T0 + 400, { debounce }));
      expect((await kit.get(first.id)).runAt).toBe(T0 + 1_400);
      // A later start's own maxWaitMs does not move the window's cap.
      await kit.store.createTask(
        debounced(kit, 3, T0 + 900, { debounce: { key: "doc-1", maxWaitMs: 9_000 } }),
      );
      expect((await kit.get(first.id)).runAt).toBe(T0 + 1_500);
      await kit.store.createTask(debounced(kit, 4, T0 + 1_200, { debounce }));
      expect(await kit.get(first.id)).toMatchObject({ runAt: T0 + 1_500, input: encode(4) });
    });

    it("opens a new window once the task was claimed, and never changes a started task", async () => {
      const kit = await openKit(suite);
      const first = createdTask(await kit.store.createTask(debounced(kit, 1)));
      const [claimed] = await kit.claim(T0 + PERIOD);
      expect(claimed?.task.id).toBe(first.id);
      const next = createdTask(await kit.store.createTask(debounced(kit, 2, T0 + PERIOD + 1)));
      expect(next.id).not.toBe(first.id);
      expect(next).toMatchObject({ status: "queued", input: encode(2), runAt: T0 + 2 * PERIOD + 1 });
      expect(await kit.get(first.id)).toMatchObject({ status: "running", input: encode(1) });
      // The new window folds as usual.
      const again = await kit.store.createTask(debounced(kit, 3, T0 + PERIOD + 2));
      expect(again).toMatchObject({ debounced: true, task: { id: next.id, input: encode(3) } });
    });

    it("does not fold into a task handed back queued after it started", async () => {
      const kit = await openKit(suite);
      const first = createdTask(await kit.store.createTask(debounced(kit, 1)));
      const [claimed] = await kit.claim(T0 + PERIOD);
      if (!claimed) throw new Error("not claimed");
      await kit.store.settleTask(claimed.lease, { status: "queued", runAt: T0 + PERIOD }, T0 + PERIOD);
      expect(await kit.get(first.id)).toMatchObject({ status: "queued", claims: 1 });
      const next = await kit.store.createTask(debounced(kit, 2, T0 + PERIOD + 1));
      expect(next.created).toBe(true);
      expect((await kit.get(first.id)).input).toBe(encode(1));
    });

    it("opens a new window when the window's task finished or was deleted", async () => {
      const kit = await openKit(suite);
      const b = era();
      const first = createdTask(await kit.store.createTask(debounced(kit, 1, b)));
      const [claimed] = await kit.claim(b + PERIOD);
      if (!claimed) throw new Error("not claimed");
      await kit.store.settleTask(claimed.lease, TERMINAL_SETTLEMENTS.completed, b + PERIOD);
      expect(await kit.store.purgeTasks({ finishedBefore: b + PERIOD + 1, limit: 100 })).toBe(1);
      expect(await kit.store.getTask(first.id)).toBeUndefined();
      const next = createdTask(await kit.store.createTask(debounced(kit, 2, b + PERIOD + 2)));
      expect(next.id).not.toBe(first.id);
      // Erasure takes the owner's window with its task.
      while ((await kit.store.deleteTasksOfOwner(kit.owner, 100)) > 0) {}
      const after = createdTask(await kit.store.createTask(debounced(kit, 3, b + PERIOD + 3)));
      expect(after.id).not.toBe(next.id);
      expect(await kit.store.listTasks({ owner: kit.owner })).toEqual([after]);
    });

    it("keeps one window per owner, task name and key", async () => {
      const kit = await openKit(suite);
      const base = createdTask(await kit.store.createTask(debounced(kit, 0)));
      const variants: Partial<NewTask>[] = [
        { owner: `${kit.owner}-2` },
        { name: `${kit.name}-2` },
        { debounce: { key: "doc-2" } },
      ];
      for (const variant of variants) {
        const result = await kit.store.createTask(debounced(kit, 1, T0 + 1, variant));
        expect(result.created, JSON.stringify(variant)).toBe(true);
        // …and each folds its own later starts.
        const again = await kit.store.createTask(debounced(kit, 2, T0 + 2, variant));
        expect(again).toMatchObject({
          debounced: true,
          task: { id: createdTask(result).id, input: encode(2) },
        });
      }
      expect(await kit.get(base.id)).toMatchObject({ input: encode(0), runAt: T0 + PERIOD });
    });

    it("a folded start takes no start-rate token and no limit refuses it; a new window is limited", async () => {
      const kit = await openKit(suite);
      const rate = { perSecond: 0.001, burst: 2 };
      const limits = { startRate: rate, maxActivePerOwner: 1, maxQueued: 0 };
      const first = createdTask(await kit.store.createTask(debounced(kit, 1, T0, { startRate: rate })));
      for (let i = 2; i <= 6; i++) {
        const folded = await kit.store.createTask(debounced(kit, i, T0 + i, limits));
        expect(folded).toMatchObject({ debounced: true, task: { id: first.id, input: encode(i) } });
      }
      // One token of the burst of two is left: one plain start, then the bucket is empty.
      expect((await kit.store.createTask(kit.newTask({ startRate: rate }))).created).toBe(true);
      expect(await kit.store.createTask(kit.newTask({ startRate: rate }))).toMatchObject({
        limit: "startRate",
      });
      // A start that opens a window is an insert like any other: the limits apply, and nothing is written.
      const refused = debounced(kit, 7, T0 + 7, { debounce: { key: "doc-2" }, maxActivePerOwner: 1 });
      expect(await kit.store.createTask(refused)).toMatchObject({
        created: false,
        limit: "maxActivePerOwner",
      });
      expect(await kit.store.getTask(refused.id)).toBeUndefined();
      const later = await kit.store.createTask(debounced(kit, 8, T0 + 8, { debounce: { key: "doc-2" } }));
      expect(later.created).toBe(true);
    });

    it("is atomic: concurrent starts of one key end with one task, all answered with its id", async () => {
      const kit = await openKit(suite);
      const specs = Array.from({ length: 12 }, (_, i) => debounced(kit, i, T0 + 1));
      const results = await Promise.all(specs.map((spec) => kit.store.createTask(spec)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const ids = new Set(results.map((r) => ("task" in r ? r.task.id : undefined)));
      expect(ids.size).toBe(1);
      const tasks = await kit.store.listTasks({ owner: kit.owner });
      expect(tasks).toHaveLength(1);
      expect(specs.map((s) => s.input)).toContain(tasks[0]?.input);
    });

    it("never loses a start's input to a racing claim", async () => {
      const kit = await openKit(suite);
      for (let round = 0; round < 8; round++) {
        const key = `race-${round}`;
        const first = createdTask(await kit.store.createTask(debounced(kit, 0, T0, { debounce: { key } })));
        // The claim is due at first's runAt; the start comes at the same moment with the latest input.
        const latest = debounced(kit, { round }, T0 + PERIOD, { debounce: { key } });
        const [claimed, result] = await Promise.all([kit.claim(T0 + PERIOD), kit.store.createTask(latest)]);
        const ran = claimed.find((c) => c.task.id === first.id);
        if ("debounced" in result) {
          // Folded first: the claim missed the pushed runAt, or took the task with the new input.
          expect(result.task.id).toBe(first.id);
          const task = await kit.get(first.id);
          expect(task.input).toBe(latest.input);
          if (ran) expect(ran.task.input).toBe(latest.input);
        } else {
          // Claimed first: the start opened a new window holding the latest input.
          const next = createdTask(result);
          expect(ran?.task.input).toBe(encode(0));
          expect(await kit.get(next.id)).toMatchObject({ status: "queued", input: latest.input });
        }
      }
    });

    it("across instances: concurrent starts of one key end with one task", async () => {
      if (!suite.options.secondInstance) return;
      const a = await openKit(suite);
      const b = await openSecond(suite, a);
      const specs = Array.from({ length: 16 }, (_, i) => debounced(a, i, T0 + 1));
      const results = await Promise.all(specs.map((spec, i) => (i % 2 ? b : a).store.createTask(spec)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => ("task" in r ? r.task.id : undefined))).size).toBe(1);
      expect(await b.store.listTasks({ owner: a.owner })).toHaveLength(1);
    });
  });
}
