import { describe, expect, it, onTestFinished } from "vitest";
import {
  emitted,
  event,
  expectCode,
  Kit,
  LEASE_MS,
  openKit,
  openSecond,
  ring,
  type Suite,
  stepAt,
  T0,
  TERMINAL_DATA,
  untilRung,
} from "./conformance.kit";
import { expectContiguous, outcomes, racingWriters } from "./conformance.race";

/** Two instances over one backing storage (another process, another node): every guarantee holds across them. */
export function instancesConformance(suite: Suite): void {
  const second = suite.options.secondInstance;
  describe.skipIf(!second)("across instances (secondInstance)", () => {
    const pair = async (): Promise<[Kit, Kit]> => {
      const a = await openKit(suite);
      return [a, await openSecond(suite, a)];
    };

    it("open is safe when several instances open at once", async () => {
      const first = await suite.factory();
      onTestFinished(() => first.close());
      const other = await second!(first);
      onTestFinished(() => other.close());
      await Promise.all([first.open(), other.open()]);
      const a = new Kit(first, 0);
      const task = await a.create();
      expect(await other.getTask(task.id)).toEqual(task);
    });

    it("tasks, checkpoints and events written through one instance are read through the other", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      await a.store.appendStep(lease, { ...stepAt(0, 1), output: "[1]" });
      await a.emit(lease, 2);
      expect(await b.get(task.id)).toEqual(await a.get(task.id));
      expect(await b.store.readEvents(task.id, 0, 10)).toEqual([event(1), event(2)]);
      expect(await b.store.loadHistory(task.id)).toEqual(await a.store.loadHistory(task.id));
      expect(await b.store.listTasks({ owner: a.owner })).toEqual(
        await a.store.listTasks({ owner: a.owner }),
      );
    });

    it("watchEvents on one instance rings after appendEvent and a terminal settle on the other", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      const bell = ring(b.ringTimeoutMs, "cross-instance watchEvents ring");
      const unwatch = b.store.watchEvents(task.id, bell.fn);
      const readable = (n: number) => async () => (await b.store.readEvents(task.id, 0, 10)).length === n;
      try {
        await a.store.appendEvent(lease, emitted(0));
        await untilRung(bell, readable(1), b.ringTimeoutMs, "a ring on the other instance after appendEvent");
        await a.store.settleTask(
          lease,
          { status: "failed", error: { code: "X", message: "x" }, event: "{}" },
          T0,
        );
        await untilRung(bell, readable(2), b.ringTimeoutMs, "a ring on the other instance after settleTask");
      } finally {
        unwatch();
      }
    });

    it("watchCancels on one instance is called for a cancel requested on the other", async () => {
      const [a, b] = await pair();
      const { task } = await a.running();
      const calls = ring<[string]>(b.ringTimeoutMs, "cross-instance onCancel");
      const unwatch = b.store.watchCancels((id) => {
        if (id === task.id) calls.fn(id);
      });
      try {
        await a.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA);
        expect(await calls.next(1)).toEqual([task.id]);
      } finally {
        unwatch();
      }
    });

    it("concurrent claimers on two instances never receive the same task", async () => {
      const [a, b] = await pair();
      for (let i = 0; i < 30; i++) await a.create();
      const rounds = await Promise.all([
        a.claim(T0, 10, "a1"),
        b.claim(T0, 10, "b1"),
        a.claim(T0, 10, "a2"),
        b.claim(T0, 10, "b2"),
      ]);
      const ids = rounds.flat().map((c) => c.task.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const claimed of rounds.flat()) {
        expect(await a.get(claimed.task.id)).toMatchObject({ leaseOwner: claimed.lease.workerId, claims: 1 });
      }
    });

    it("a lease reclaimed through one instance fences out the old holder on the other", async () => {
      const [a, b] = await pair();
      const { task, lease: stale } = await a.running();
      const [claimed] = await b.claim(T0 + LEASE_MS + 1, 10, "worker-b");
      expect(claimed?.task.id).toBe(task.id);
      await expectCode(a.store.appendEvent(stale, emitted(0)), "STORE_CONFLICT");
      await expectCode(
        a.store.appendStep(stale, { ...stepAt(0), key: "k#0", output: "1" }),
        "STORE_CONFLICT",
      );
      await expectCode(a.store.settleTask(stale, { status: "queued", runAt: T0 }, T0), "STORE_CONFLICT");
      expect((await a.store.renewLease(stale, T0 + LEASE_MS + 2, LEASE_MS)).held).toBe(false);
      expect(await a.get(task.id)).toEqual(claimed?.task);
    });

    it("racing writers on two instances produce seqs 1..n without gap or duplicate", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      const { won } = await racingWriters([a.store, b.store], lease, 6, 5);
      expect(won.size).toBe(30);
      await expectContiguous(a, task.id, won);
    });

    it("concurrent creates with one idempotency key on two instances insert one task", async () => {
      const [a, b] = await pair();
      const idempotency = { key: "race", inputHash: "h", expiresAt: T0 + 1_000 };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? b : a).store.createTask(a.newTask({ idempotency }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => ("task" in r ? r.task.id : "refused"))).size).toBe(1);
    });

    it("concurrent settles of one lease on two instances: exactly one wins", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      const results = await Promise.allSettled([
        a.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 1),
        b.store.settleTask(lease, { status: "cancelled", event: TERMINAL_DATA }, T0 + 1),
      ]);
      expect(outcomes(results)).toHaveLength(1);
      expect(await a.store.readEvents(task.id, 0, 10)).toHaveLength(1);
    });

    it("close stops the closed instance's watches", async () => {
      const [a, b] = await pair();
      const { task, lease } = await a.running();
      const closed = ring(b.ringTimeoutMs, "watch of the closed instance");
      b.store.watchEvents(task.id, closed.fn);
      const sentinel = ring(a.ringTimeoutMs, "sentinel ring");
      const unwatch = a.store.watchEvents(task.id, sentinel.fn);
      try {
        await a.store.appendEvent(lease, emitted(0));
        await untilRung(closed, () => true, b.ringTimeoutMs, "a ring before close");
        await b.store.close();
        const before = closed.calls.length;
        await a.store.appendEvent(lease, emitted(1));
        const readable = async () => (await a.store.readEvents(task.id, 1, 10)).length === 1;
        await untilRung(sentinel, readable, a.ringTimeoutMs, "the sentinel ring after close");
        expect(closed.calls.length).toBe(before);
      } finally {
        unwatch();
      }
    });
  });
}
