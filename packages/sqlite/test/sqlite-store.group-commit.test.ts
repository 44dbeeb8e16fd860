import { join } from "node:path";
import type { Lease, TaskStore } from "@taskwire/core/store";
import { sqliteStore } from "@taskwire/sqlite";
import { describe, expect, it } from "vitest";
import { newTask, openStore, tempDir } from "./helpers";

async function runningTasks(store: TaskStore, n: number): Promise<Lease[]> {
  const created = await Promise.all(
    Array.from({ length: n }, () =>
      store.createTask(newTask({ claimFor: { workerId: "w", leaseMs: 60_000 } })),
    ),
  );
  return created.map((c) => (c as { lease: Lease }).lease);
}

const step = (position: number) => ({
  position,
  key: `k#${position}`,
  output: `"${position}"`,
  emits: 0,
  startedAt: 1,
  at: 1,
  attempts: 1,
});

describe("group commit", () => {
  it("100 concurrent appendStep calls across tasks all resolve and are all durable", async () => {
    const path = join(tempDir(), "tasks.db");
    const store = sqliteStore({ path });
    await store.open();
    const leases = await runningTasks(store, 20);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.appendStep(leases[i % 20]!, step(Math.floor(i / 20)))),
    );
    await store.close();

    const reopened = await openStore({ path });
    for (const lease of leases) {
      const { steps } = await reopened.loadHistory(lease.taskId);
      expect(steps.map((s) => s.position)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("a stale-lease op in the same batch is rejected alone; its neighbours commit", async () => {
    const path = join(tempDir(), "tasks.db");
    const store = sqliteStore({ path });
    await store.open();
    const leases = await runningTasks(store, 10);
    const stale = { ...leases[4]!, revision: leases[4]!.revision - 1 };
    const results = await Promise.allSettled([
      ...leases.slice(0, 5).map((lease) => store.appendStep(lease, step(0))),
      store.appendStep(stale, step(1)),
      store.appendEvent(stale, { position: 0, name: "progress", data: "{}", at: 1 }),
      store.appendStep(leases[0]!, step(0)), // duplicate position: rejected, the first one kept
      ...leases.slice(5).map((lease) => store.appendStep(lease, step(0))),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      ...Array(5).fill("fulfilled"),
      "rejected",
      "rejected",
      "rejected",
      ...Array(5).fill("fulfilled"),
    ]);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "STORE_CONFLICT" });
    }
    await store.close();

    const reopened = await openStore({ path });
    for (const lease of leases) {
      expect((await reopened.loadHistory(lease.taskId)).steps.map((s) => s.key)).toEqual(["k#0"]);
    }
    expect(await reopened.readEvents(stale.taskId, 0, 10)).toEqual([]);
  });

  it("applies ops in call order: emit positions 0 then 1 issued in one tick both land", async () => {
    const store = await openStore({ path: ":memory:" });
    const [lease] = await runningTasks(store, 1);
    const event = (position: number) => ({ position, name: "progress", data: "{}", at: position });
    expect(
      await Promise.all([store.appendEvent(lease!, event(0)), store.appendEvent(lease!, event(1))]),
    ).toEqual([1, 2]);
    const swapped = await Promise.allSettled([
      store.appendEvent(lease!, event(3)),
      store.appendEvent(lease!, event(2)),
    ]);
    expect(swapped.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    expect((await store.readEvents(lease!.taskId, 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("a read issued after a write sees it, even before the write's promise settled", async () => {
    const store = await openStore({ path: ":memory:" });
    const [lease] = await runningTasks(store, 1);
    const append = store.appendEvent(lease!, { position: 0, name: "progress", data: "{}", at: 1 });
    const created = store.createTask(newTask({ id: "read-your-writes" }));
    expect(await store.readEvents(lease!.taskId, 0, 10)).toHaveLength(1);
    expect(await store.getTask("read-your-writes")).toMatchObject({ status: "queued" });
    await Promise.all([append, created]);
  });
});
