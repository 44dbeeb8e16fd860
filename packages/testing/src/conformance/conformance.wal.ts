import { describe, expect, it } from "vitest";
import { finishChild, spawn } from "./conformance.flows.kit";
import {
  emitted,
  event,
  expectCode,
  openKit,
  type Suite,
  stepAt,
  T0,
  TERMINAL_DATA,
} from "./conformance.kit";

/** `appendStep`, `appendEvent`, `readEvents` and `loadHistory`. */
export function walConformance(suite: Suite): void {
  describe("appendStep", () => {
    it("records a checkpoint readable by loadHistory with every field, emits included", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const step = { ...stepAt(0, 3), key: "fetchRows#0" };
      await kit.store.appendStep(lease, step);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [step], eventNames: [] });
    });

    it("keeps the step's timing: startedAt (its first attempt) and attempts round-trip unchanged", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const slow = { ...stepAt(0), startedAt: T0 - 90_000, at: T0, attempts: 5 };
      const quick = { ...stepAt(1), startedAt: T0 + 1, at: T0 + 1, attempts: 1 };
      await kit.store.appendStep(lease, slow);
      await kit.store.appendStep(lease, quick);
      const { steps } = await kit.store.loadHistory(task.id);
      expect(steps.map(({ startedAt, at, attempts }) => ({ startedAt, at, attempts }))).toEqual([
        { startedAt: T0 - 90_000, at: T0, attempts: 5 },
        { startedAt: T0 + 1, at: T0 + 1, attempts: 1 },
      ]);
    });

    it("rejects a second checkpoint at the same position with StoreConflictError, keeping the first", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendStep(lease, stepAt(0));
      await expectCode(kit.store.appendStep(lease, { ...stepAt(0, 2), key: "render#0" }), "STORE_CONFLICT");
      expect((await kit.store.loadHistory(task.id)).steps).toEqual([stepAt(0)]);
    });

    it("never takes a seq", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendStep(lease, stepAt(0));
      await kit.store.appendStep(lease, stepAt(1));
      expect((await kit.get(task.id)).lastSeq).toBe(0);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      await kit.store.appendEvent(lease, emitted(0));
    });

    it("is fenced: rejects with StoreConflictError once the lease was reclaimed, writing nothing", async () => {
      const kit = await openKit(suite);
      const { stale, fresh, task } = await kit.reclaimed();
      await expectCode(kit.store.appendStep(stale, stepAt(0)), "STORE_CONFLICT");
      expect((await kit.store.loadHistory(task.id)).steps).toEqual([]);
      await kit.store.appendStep(fresh, stepAt(0));
    });

    it("is fenced: rejects with StoreConflictError once the task settled", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(lease, { status: "queued", runAt: T0 }, T0);
      await expectCode(kit.store.appendStep(lease, stepAt(0)), "STORE_CONFLICT");
      expect((await kit.store.loadHistory(task.id)).steps).toEqual([]);
    });
  });

  describe("loadHistory", () => {
    it("returns nothing for a task without checkpoints or events", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [], eventNames: [] });
    });

    it("returns checkpoints by position, ascending", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      for (const position of [2, 0, 3, 1]) await kit.store.appendStep(lease, stepAt(position, position));
      const { steps } = await kit.store.loadHistory(task.id);
      expect(steps).toEqual([0, 1, 2, 3].map((p) => stepAt(p, p)));
    });

    it("returns emitted event names by emit position, in seq order", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const names = ["progress", "log", "progress"];
      for (const [i, name] of names.entries()) await kit.store.appendEvent(lease, emitted(i, name));
      expect((await kit.store.loadHistory(task.id)).eventNames).toEqual(names);
    });

    it("excludes the terminal event from eventNames", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, emitted(0, "progress"));
      await kit.store.appendStep(lease, stepAt(0));
      await kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 9);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [stepAt(0)], eventNames: ["progress"] });
    });

    it("excludes child bridge events from eventNames: index i stays emit position i", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, emitted(0, "before"));
      const child = await spawn(kit, lease, 0);
      await kit.store.appendEvent(lease, emitted(1, "after"));
      await finishChild(kit, child.id, "completed");
      await kit.store.appendEvent(lease, emitted(2, "last"));
      const events = await kit.store.readEvents(task.id, 0, 10);
      expect(events.map((e) => e.name)).toEqual(["before", "child", "after", "child", "last"]);
      expect((await kit.store.loadHistory(task.id)).eventNames).toEqual(["before", "after", "last"]);
    });
  });

  describe("appendEvent", () => {
    it("appends at seq = lastSeq + 1, bumps lastSeq and emits, resolves to the seq; readable with every field", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      expect(await kit.store.appendEvent(lease, emitted(0, "progress"))).toBe(1);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 1, emits: 1 });
      expect(await kit.store.appendEvent(lease, emitted(1, "log"))).toBe(2);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 2, emits: 2, revision: lease.revision });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1, "progress"), event(2, "log")]);
    });

    it("takes the seq after bridge events while the emit position counts only emitted events", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await spawn(kit, lease, 0);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 1, emits: 0 });
      // The compare-and-swap is on emits: position 1 (= lastSeq) is a gap, position 0 is the next one.
      await expectCode(kit.store.appendEvent(lease, emitted(1)), "STORE_CONFLICT");
      expect(await kit.store.appendEvent(lease, emitted(0))).toBe(2);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 2, emits: 1 });
      expect((await kit.store.readEvents(task.id, 1, 10))[0]).toEqual(event(2, "progress", 0));
    });

    it("rejects a gap (position > emits) with StoreConflictError, writing nothing", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, emitted(0));
      await expectCode(kit.store.appendEvent(lease, emitted(2)), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 1, emits: 1 });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1)]);
      expect(await kit.store.appendEvent(lease, emitted(1))).toBe(2);
    });

    it("rejects a first event whose position is not 0 with StoreConflictError", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await expectCode(kit.store.appendEvent(lease, emitted(-1)), "STORE_CONFLICT");
      await expectCode(kit.store.appendEvent(lease, emitted(1)), "STORE_CONFLICT");
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 0, emits: 0 });
    });

    it("rejects a duplicate (position < emits) with StoreConflictError, keeping the original", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 2);
      await expectCode(kit.store.appendEvent(lease, emitted(1, "other")), "STORE_CONFLICT");
      await expectCode(kit.store.appendEvent(lease, emitted(0, "other")), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 2, emits: 2 });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1), event(2)]);
    });

    it("is fenced: rejects with StoreConflictError once the lease was reclaimed, writing nothing", async () => {
      const kit = await openKit(suite);
      const { stale, fresh, task } = await kit.reclaimed();
      await expectCode(kit.store.appendEvent(stale, emitted(0)), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toEqual(task);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      expect(await kit.store.appendEvent(fresh, emitted(0))).toBe(1);
    });

    it("is fenced: rejects with StoreConflictError once the task settled", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(
        lease,
        { status: "retrying", error: { code: "X", message: "x" }, runAt: T0 },
        T0,
      );
      await expectCode(kit.store.appendEvent(lease, emitted(0)), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 0, emits: 0 });
    });
  });

  describe("readEvents", () => {
    it("returns events with seq > afterSeq, ascending", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 5);
      expect(await kit.store.readEvents(task.id, 0, 100)).toEqual([1, 2, 3, 4, 5].map((s) => event(s)));
      expect(await kit.store.readEvents(task.id, 3, 100)).toEqual([event(4), event(5)]);
      expect(await kit.store.readEvents(task.id, 5, 100)).toEqual([]);
      expect(await kit.store.readEvents(task.id, 9, 100)).toEqual([]);
    });

    it("returns at most limit events", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 5);
      expect(await kit.store.readEvents(task.id, 1, 2)).toEqual([event(2), event(3)]);
      expect(await kit.store.readEvents(task.id, 4, 2)).toEqual([event(5)]);
    });

    it("includes the terminal event", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      await kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 9);
      expect(await kit.store.readEvents(task.id, 1, 10)).toEqual([
        { seq: 2, name: "completed", data: TERMINAL_DATA, at: T0 + 9 },
      ]);
    });
  });
}
