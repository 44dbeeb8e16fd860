import { join } from "node:path";
import { type Lease, NEVER_DUE, TaskStatus, type TaskStore } from "@taskwire/core/store";
import { describe, expect, it, vi } from "vitest";
import { newTask, openStore, tempDir } from "./helpers";

const running = { claimFor: { workerId: "worker-a", leaseMs: 60_000 } };

/** Two stores (two connections, as two processes would have) on one file; B polls every 20 ms. */
async function twoStores(): Promise<{ a: TaskStore; b: TaskStore }> {
  const path = join(tempDir(), "tasks.db");
  return { a: await openStore({ path }), b: await openStore({ path, pollIntervalMs: 20 }) };
}

/** A task of `store` parked `waiting` on signal `go` #0, with no deadline. */
async function waitingForSignal(store: TaskStore): Promise<string> {
  const { lease } = (await store.createTask(newTask(running))) as { lease: Lease };
  const wakeOn = { signals: [{ name: "go", index: 0 }] };
  await store.settleTask(lease, { status: "waiting", runAt: NEVER_DUE, wakeOn }, 1000);
  return lease.taskId;
}

describe("flows across connections on one file", () => {
  it("a work watcher on B is rung by wake-ups committed through A, through the data_version poll alone", async () => {
    const { a, b } = await twoStores();
    const waiting = await waitingForSignal(a);
    let rings = 0;
    // B watches only work: the poll must run for it, and B's own writes never ring it here.
    const unwatch = b.watchWork(() => rings++);
    try {
      await a.deliverSignal({ taskId: waiting, name: "go", payload: "1", now: 2000 });
      await vi.waitFor(() => expect(rings > 0, "a work ring on B after a signal on A").toBe(true), {
        timeout: 2_000,
        interval: 5,
      });
      expect(await b.getTask(waiting)).toMatchObject({ status: TaskStatus.QUEUED, runAt: 2000 });

      const { lease } = (await a.createTask(newTask(running))) as { lease: Lease };
      await a.settleTask(lease, { status: "failed", error: { code: "X", message: "x" }, event: "{}" }, 3000);
      let before = rings;
      await a.retryTask(lease.taskId, 4000);
      await vi.waitFor(() => expect(rings > before, "a work ring on B after a retry on A").toBe(true), {
        timeout: 2_000,
        interval: 5,
      });

      const parent = (await a.createTask(newTask(running))) as { lease: Lease };
      before = rings;
      await a.spawnChild(parent.lease, {
        step: {
          position: 0,
          key: "spawn:demo.task#0",
          output: '"child-1"',
          emits: 0,
          startedAt: 5000,
          at: 5000,
          attempts: 1,
        },
        child: { id: `child-of-${parent.lease.taskId}`, name: "demo.task", input: "{}", runAt: 5000 },
        event: "{}",
        now: 5000,
      });
      await vi.waitFor(() => expect(rings > before, "a work ring on B after a spawn on A").toBe(true), {
        timeout: 2_000,
        interval: 5,
      });
    } finally {
      unwatch();
    }
  });

  it("a child settled through B wakes its parent waiting in A's file, and A claims it", async () => {
    const { a, b } = await twoStores();
    const parent = (await a.createTask(newTask(running))) as { lease: Lease };
    const childId = `child-of-${parent.lease.taskId}`;
    await a.spawnChild(parent.lease, {
      step: {
        position: 0,
        key: "spawn:demo.task#0",
        output: `"${childId}"`,
        emits: 0,
        startedAt: 1000,
        at: 1000,
        attempts: 1,
      },
      child: { id: childId, name: "demo.task", input: "{}", runAt: 1000 },
      event: '{"status":"queued"}',
      now: 1000,
    });
    await a.settleTask(
      parent.lease,
      { status: "waiting", runAt: NEVER_DUE, wakeOn: { children: [childId] } },
      1001,
    );
    const [child] = await b.claimTasks({
      workerId: "worker-b",
      names: ["demo.task"],
      limit: 1,
      now: 1002,
      leaseMs: 60_000,
    });
    expect(child?.task.id).toBe(childId);
    await b.settleTask(child!.lease, { status: "completed", result: "1", event: "{}" }, 1003);

    const [woken] = await a.claimTasks({
      workerId: "worker-a",
      names: ["demo.task"],
      limit: 5,
      now: 1004,
      leaseMs: 60_000,
    });
    expect(woken?.task).toMatchObject({ id: parent.lease.taskId, lastSeq: 2, emits: 0 });
    expect((await a.readEvents(parent.lease.taskId, 0, 10)).map((e) => e.name)).toEqual(["child", "child"]);
  });

  it("keeps signals and emit positions across close and reopen", async () => {
    const path = join(tempDir(), "tasks.db");
    const first = await openStore({ path });
    const { lease } = (await first.createTask(newTask(running))) as { lease: Lease };
    await first.appendEvent(lease, { position: 0, name: "progress", data: "{}", at: 1 });
    await first.deliverSignal({
      taskId: lease.taskId,
      name: "go",
      payload: '"a"',
      idempotencyKey: "k",
      now: 2,
    });
    await first.close();

    const second = await openStore({ path });
    expect(await second.getTask(lease.taskId)).toMatchObject({ emits: 1, lastSeq: 1 });
    expect(await second.readSignal(lease.taskId, "go", 0)).toBe('"a"');
    const again = await second.deliverSignal({
      taskId: lease.taskId,
      name: "go",
      payload: '"b"',
      idempotencyKey: "k",
      now: 3,
    });
    expect(again).toMatchObject({ index: 0, duplicate: true });
    expect(await second.appendEvent(lease, { position: 1, name: "progress", data: "{}", at: 4 })).toBe(2);
  });
});
