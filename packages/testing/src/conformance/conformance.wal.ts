import { describe, expect, it } from "vitest";
import { event, expectCode, openKit, type Suite, stepAt, T0, TERMINAL_DATA } from "./conformance.kit";

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
      await kit.store.appendEvent(lease, event(1));
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

    it("returns emitted event names in seq order", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const names = ["progress", "log", "progress"];
      for (const [i, name] of names.entries()) await kit.store.appendEvent(lease, event(i + 1, name));
      expect((await kit.store.loadHistory(task.id)).eventNames).toEqual(names);
    });

    it("excludes the terminal event from eventNames", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, event(1, "progress"));
      await kit.store.appendStep(lease, stepAt(0));
      await kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 9);
      expect(await kit.store.loadHistory(task.id)).toEqual({ steps: [stepAt(0)], eventNames: ["progress"] });
    });
  });

  describe("appendEvent", () => {
    it("appends seq = lastSeq + 1, bumps lastSeq, and the event is readable with every field", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, event(1, "progress"));
      expect((await kit.get(task.id)).lastSeq).toBe(1);
      await kit.store.appendEvent(lease, event(2, "log"));
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 2, revision: lease.revision });
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1, "progress"), event(2, "log")]);
    });

    it("rejects a gap (seq > lastSeq + 1) with StoreConflictError, writing nothing", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.appendEvent(lease, event(1));
      await expectCode(kit.store.appendEvent(lease, event(3)), "STORE_CONFLICT");
      expect((await kit.get(task.id)).lastSeq).toBe(1);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1)]);
      await kit.store.appendEvent(lease, event(2));
    });

    it("rejects a first event that is not seq 1 with StoreConflictError", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await expectCode(kit.store.appendEvent(lease, event(0)), "STORE_CONFLICT");
      await expectCode(kit.store.appendEvent(lease, event(2)), "STORE_CONFLICT");
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
    });

    it("rejects a duplicate (seq <= lastSeq) with StoreConflictError, keeping the original", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1, 2);
      await expectCode(kit.store.appendEvent(lease, event(2, "other")), "STORE_CONFLICT");
      await expectCode(kit.store.appendEvent(lease, event(1, "other")), "STORE_CONFLICT");
      expect((await kit.get(task.id)).lastSeq).toBe(2);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([event(1), event(2)]);
    });

    it("is fenced: rejects with StoreConflictError once the lease was reclaimed, writing nothing", async () => {
      const kit = await openKit(suite);
      const { stale, fresh, task } = await kit.reclaimed();
      await expectCode(kit.store.appendEvent(stale, event(1)), "STORE_CONFLICT");
      expect(await kit.get(task.id)).toEqual(task);
      expect(await kit.store.readEvents(task.id, 0, 10)).toEqual([]);
      await kit.store.appendEvent(fresh, event(1));
    });

    it("is fenced: rejects with StoreConflictError once the task settled", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.store.settleTask(
        lease,
        { status: "retrying", error: { code: "X", message: "x" }, runAt: T0 },
        T0,
      );
      await expectCode(kit.store.appendEvent(lease, event(1)), "STORE_CONFLICT");
      expect((await kit.get(task.id)).lastSeq).toBe(0);
    });
  });

  describe("readEvents", () => {
    it("returns events with seq > afterSeq, ascending", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1, 5);
      expect(await kit.store.readEvents(task.id, 0, 100)).toEqual([1, 2, 3, 4, 5].map((s) => event(s)));
      expect(await kit.store.readEvents(task.id, 3, 100)).toEqual([event(4), event(5)]);
      expect(await kit.store.readEvents(task.id, 5, 100)).toEqual([]);
      expect(await kit.store.readEvents(task.id, 9, 100)).toEqual([]);
    });

    it("returns at most limit events", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1, 5);
      expect(await kit.store.readEvents(task.id, 1, 2)).toEqual([event(2), event(3)]);
      expect(await kit.store.readEvents(task.id, 4, 2)).toEqual([event(5)]);
    });

    it("includes the terminal event", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1, 1);
      await kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 9);
      expect(await kit.store.readEvents(task.id, 1, 10)).toEqual([
        { seq: 2, name: "completed", data: TERMINAL_DATA, at: T0 + 9 },
      ]);
    });
  });
}
