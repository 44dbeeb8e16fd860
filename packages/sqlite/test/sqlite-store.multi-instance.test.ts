import { join } from "node:path";
import type { Lease } from "@taskwire/core/store";
import { describe, expect, it, vi } from "vitest";
import { newTask, openStore, runFixture, tempDir } from "./helpers";

const running = { claimFor: { workerId: "worker-a", leaseMs: 60_000 } };

describe("two stores (two connections) on one file", () => {
  it("concurrent claimTasks never hand out a task twice", async () => {
    const path = join(tempDir(), "tasks.db");
    const a = await openStore({ path });
    const b = await openStore({ path });
    for (let i = 0; i < 60; i++) await a.createTask(newTask());
    const claim = (store: typeof a, workerId: string) =>
      store.claimTasks({ workerId, names: ["demo.task"], limit: 7, now: 5000, leaseMs: 60_000 });
    const rounds = await Promise.all(
      Array.from({ length: 12 }, (_, i) => claim(i % 2 ? b : a, `worker-${i}`)),
    );
    const ids = rounds.flat().map((c) => c.task.id);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
  });

  it("claimers in separate processes never hand out a task twice", async () => {
    const path = join(tempDir(), "tasks.db");
    const a = await openStore({ path });
    for (let i = 0; i < 90; i++) await a.createTask(newTask());
    const outputs = await Promise.all(["p1", "p2", "p3"].map((w) => runFixture("claim-race", [path, w])));
    const ids = outputs.flatMap((out) => JSON.parse(out) as string[]);
    expect(ids).toHaveLength(90);
    expect(new Set(ids).size).toBe(90);
  });

  it("processes opening (and migrating) a fresh file at the same time all succeed", async () => {
    const path = join(tempDir(), "fresh.db");
    const outputs = await Promise.all(
      ["o1", "o2", "o3", "o4"].map((id) => runFixture("open-race", [path, id])),
    );
    expect(outputs).toEqual(["ok", "ok", "ok", "ok"]);
    const store = await openStore({ path });
    expect((await store.listTasks()).map((t) => t.id).sort()).toEqual(["o1", "o2", "o3", "o4"]);
  });

  it("a watcher on B is rung by appendEvent and settleTask on A within the poll bound", async () => {
    const path = join(tempDir(), "tasks.db");
    const a = await openStore({ path });
    const b = await openStore({ path, pollIntervalMs: 20 });
    const created = await a.createTask(newTask(running));
    const lease = (created as { lease: Lease }).lease;
    let rings = 0;
    const unwatch = b.watchEvents(lease.taskId, () => rings++);
    try {
      await a.appendEvent(lease, { position: 0, name: "progress", data: "{}", at: 1 });
      await vi.waitFor(() => expect(rings, "a ring on B after appendEvent on A").toBeGreaterThan(0), {
        timeout: 2_000,
        interval: 5,
      });
      expect(await b.readEvents(lease.taskId, 0, 10)).toHaveLength(1);
      const before = rings;
      await a.settleTask(lease, { status: "completed", result: "1", event: "{}" }, 2);
      await vi.waitFor(() => expect(rings, "a ring on B after settleTask on A").toBeGreaterThan(before), {
        timeout: 2_000,
        interval: 5,
      });
      expect((await b.readEvents(lease.taskId, 1, 10)).map((e) => e.name)).toEqual(["completed"]);
    } finally {
      unwatch();
    }
  });

  it("a cancel requested on A reaches watchCancels on B, once", async () => {
    const path = join(tempDir(), "tasks.db");
    const a = await openStore({ path });
    const b = await openStore({ path, pollIntervalMs: 20 });
    const created = await a.createTask(newTask(running));
    if (!created.created) throw new Error("the task was not created");
    const taskId = created.task.id;
    const calls: string[] = [];
    const unwatch = b.watchCancels((id) => calls.push(id));
    try {
      await a.requestCancel(taskId, 2, "{}");
      await vi.waitFor(() => expect(calls.length, "onCancel on B").toBeGreaterThan(0), {
        timeout: 2_000,
        interval: 5,
      });
      // Later commits on A (a second request, another task's events) must not report it again.
      await a.requestCancel(taskId, 3, "{}");
      const other = (await a.createTask(newTask(running))) as { lease: Lease };
      await a.appendEvent(other.lease, { position: 0, name: "progress", data: "{}", at: 4 });
      let ringsAfter = 0;
      const sentinel = b.watchEvents(other.lease.taskId, () => ringsAfter++);
      await a.appendEvent(other.lease, { position: 1, name: "progress", data: "{}", at: 5 });
      await vi.waitFor(() => expect(ringsAfter, "B noticing A's later commits").toBeGreaterThan(0), {
        timeout: 2_000,
        interval: 5,
      });
      sentinel();
      expect(calls).toEqual([taskId]);
    } finally {
      unwatch();
    }
  });

  it("a lease taken over through B fences writes through A", async () => {
    const path = join(tempDir(), "tasks.db");
    const a = await openStore({ path });
    const b = await openStore({ path });
    const { lease: stale } = (await a.createTask(newTask(running))) as { lease: Lease };
    const [taken] = await b.claimTasks({
      workerId: "worker-b",
      names: ["demo.task"],
      limit: 1,
      now: 1000 + 60_001,
      leaseMs: 60_000,
    });
    expect(taken?.task.id).toBe(stale.taskId);
    await expect(
      a.appendStep(stale, {
        position: 0,
        key: "k#0",
        output: "1",
        emits: 0,
        startedAt: 1,
        at: 1,
        attempts: 1,
      }),
    ).rejects.toMatchObject({
      code: "STORE_CONFLICT",
    });
    expect(await a.renewLease(stale, 70_000, 60_000)).toEqual({ held: false, cancelRequested: false });
  });
});
