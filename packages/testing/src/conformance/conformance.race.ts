import { type ErrorCode, isTaskwireError } from "@taskwire/core";
import { isTerminalEventName, isTerminalStatus, type Lease, type TaskStore } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { boom, emitted, type Kit, LEASE_MS, openKit, type Suite, T0, TERMINAL_DATA } from "./conformance.kit";

/** Splits settled calls into fulfilled values and rejections, asserting every rejection carries `code`. */
export function outcomes<T>(results: PromiseSettledResult<T>[], code: ErrorCode = "STORE_CONFLICT"): T[] {
  const won: T[] = [];
  for (const r of results) {
    if (r.status === "fulfilled") won.push(r.value);
    else expect(isTaskwireError(r.reason, code), `expected ${code}, got ${String(r.reason)}`).toBe(true);
  }
  return won;
}

/**
 * `writers` concurrent writers, each appending `perWriter` events by reading `emits` and retrying the
 * next emit position on `StoreConflictError`; the stores may be different instances over the same storage.
 * Returns the seq each writer won (the seq `appendEvent` resolved to), and how many attempts lost.
 */
export async function racingWriters(
  stores: readonly TaskStore[],
  lease: Lease,
  writers: number,
  perWriter: number,
): Promise<{ won: Map<number, string>; lost: number }> {
  const won = new Map<number, string>();
  let lost = 0;
  const write = async (w: number) => {
    const store = stores[w % stores.length]!;
    for (let written = 0, attempts = 0; written < perWriter; attempts++) {
      if (attempts > 50 * writers * perWriter) throw new Error(`writer ${w} made no progress`);
      const position = (await store.getTask(lease.taskId))?.emits ?? Number.NaN;
      let seq: number;
      try {
        seq = await store.appendEvent(lease, emitted(position, `w${w}`));
      } catch (error) {
        if (!isTaskwireError(error, "STORE_CONFLICT")) throw error;
        lost++;
        continue;
      }
      expect(won.has(seq), `seq ${seq} was appended twice`).toBe(false);
      won.set(seq, `w${w}`);
      written++;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
  return { won, lost };
}

/** Asserts that the task's WAL is exactly seqs 1..n, written by the recorded winners, at emit positions 0..n-1. */
export async function expectContiguous(kit: Kit, taskId: string, won: Map<number, string>): Promise<void> {
  const n = won.size;
  const events = await kit.store.readEvents(taskId, 0, n + 10);
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(events.map((e) => e.name)).toEqual(events.map((e) => won.get(e.seq)));
  expect(events.map((e) => e.data)).toEqual(events.map((e) => emitted(e.seq - 1).data));
  expect(await kit.get(taskId)).toMatchObject({ lastSeq: n, emits: n });
}

/** Concurrency: every compare-and-swap the interface promises, under real races. */
export function raceConformance(suite: Suite): void {
  describe("concurrent writers", () => {
    it("concurrent appends at the same emit position: exactly one wins, the others get StoreConflictError", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const calls = Array.from({ length: 10 }, (_, i) => kit.store.appendEvent(lease, emitted(0, `w${i}`)));
      expect(outcomes(await Promise.allSettled(calls))).toEqual([1]);
      const events = await kit.store.readEvents(task.id, 0, 10);
      expect(events).toHaveLength(1);
      expect(await kit.get(task.id)).toMatchObject({ lastSeq: 1, emits: 1 });
    });

    it("concurrent appends at racing positions store exactly the winners, as seqs 1..n without gap or duplicate", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const won = new Map<number, string>();
      for (let round = 0; round < 6; round++) {
        const base = (await kit.get(task.id)).emits;
        const positions = [2, 0, 1, 5, 0, 3, 1, 4, 7, 6].map((p) => base + p);
        const results = await Promise.allSettled(
          positions.map((p, i) => kit.store.appendEvent(lease, emitted(p, `r${round}c${i}`))),
        );
        for (const [i, r] of results.entries()) {
          if (r.status === "fulfilled") {
            expect(won.has(r.value), `seq ${r.value} was appended twice`).toBe(false);
            // An append that wins stores emit position p at seq p + 1 (this task has no bridge events).
            expect(r.value).toBe(positions[i]! + 1);
            won.set(r.value, `r${round}c${i}`);
          }
        }
        outcomes(results);
      }
      await expectContiguous(kit, task.id, won);
    });

    it("writers that read lastSeq and retry on conflict produce seqs 1..n without gap or duplicate", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const { won } = await racingWriters([kit.store], lease, 8, 5);
      expect(won.size).toBe(40);
      await expectContiguous(kit, task.id, won);
    });

    it("concurrent settles under one lease: exactly one wins, with one terminal event", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      await kit.emit(lease, 1);
      const results = await Promise.allSettled([
        kit.store
          .settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 1)
          .then(() => "completed" as const),
        kit.store
          .settleTask(lease, { status: "failed", error: boom(), event: TERMINAL_DATA }, T0 + 1)
          .then(() => "failed" as const),
        kit.store
          .settleTask(lease, { status: "retrying", error: boom(), runAt: T0 + 9 }, T0 + 1)
          .then(() => "retrying" as const),
        kit.store
          .settleTask(lease, { status: "queued", runAt: T0 + 9 }, T0 + 1)
          .then(() => "queued" as const),
        kit.store.appendEvent(lease, emitted(1)).then(() => undefined),
      ]);
      const settled = outcomes(results.slice(0, 4));
      outcomes(results.slice(4));
      expect(settled).toHaveLength(1);
      const status = settled[0]!;
      expect(await kit.get(task.id)).toMatchObject({ status, revision: lease.revision + 1 });
      const events = await kit.store.readEvents(task.id, 0, 10);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const terminal = events.filter((e) => isTerminalEventName(e.name));
      expect(terminal.map((e) => e.name)).toEqual(isTerminalStatus(status) ? [status] : []);
      if (terminal.length > 0) expect(events.at(-1)).toEqual(terminal[0]);
    });

    it("concurrent cancel requests on a running task: one is requested, the rest already_requested", async () => {
      const kit = await openKit(suite);
      const { task } = await kit.running();
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => kit.store.requestCancel(task.id, T0 + 1 + i, TERMINAL_DATA)),
      );
      const kinds = results.map((r) => r.outcome).sort();
      expect(kinds).toEqual([...Array<string>(5).fill("already_requested"), "requested"]);
      const first = results.find((r) => r.outcome === "requested")!;
      expect((await kit.get(task.id)).cancelRequestedAt).toBe(first.task.cancelRequestedAt);
    });

    it("a cancel racing a claim of a queued task: either the cancel or the claim wins, never both", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      const [cancel, claimed] = await Promise.all([
        kit.store.requestCancel(task.id, T0 + 1, TERMINAL_DATA),
        kit.claim(T0 + 1),
      ]);
      const now = await kit.get(task.id);
      if (claimed.length > 0) {
        expect(cancel.outcome).toBe("requested");
        expect(now).toMatchObject({
          status: "running",
          cancelRequestedAt: T0 + 1,
          revision: claimed[0]!.lease.revision,
        });
      } else {
        expect(cancel.outcome).toBe("cancelled");
        expect(now.status).toBe("cancelled");
      }
    });

    it("a settle racing a reclaim: the stale settle either lands first or is fenced out", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const [settle, claimed] = await Promise.all([
        kit.store.settleTask(lease, { status: "completed", result: "1", event: TERMINAL_DATA }, T0 + 1).then(
          () => true,
          (error: unknown) => {
            expect(isTaskwireError(error, "STORE_CONFLICT")).toBe(true);
            return false;
          },
        ),
        kit.claim(T0 + LEASE_MS + 1, 10, "worker-b"),
      ]);
      expect(settle).toBe(claimed.length === 0);
      expect((await kit.get(task.id)).status).toBe(settle ? "completed" : "running");
    });
  });
}
