import { randomUUID } from "node:crypto";
import { ErrorCode, isTaskwireError } from "@taskwire/core";
import {
  type ChildSpawn,
  childEventData,
  encode,
  type Lease,
  NEVER_DUE,
  type TaskStore,
} from "@taskwire/core/store";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { expect, it, onTestFinished, vi } from "vitest";

// Flows across nodes: two stores (two pools, two LISTEN connections) on one schema stand for two nodes.
const env = await setupPgEnv("flows");
const T0 = 1_000_000_000_000;
const LEASE_MS = 30_000;

async function node(options: { pollIntervalMs?: number } = {}): Promise<TaskStore> {
  const store = postgresStore({ connectionString: env.url, schema: env.schema, max: 4, ...options });
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

/** A new task already running under `worker-a`'s lease. */
async function running(store: TaskStore, name = `flows.${randomUUID()}`): Promise<Lease> {
  const res = await store.createTask({
    id: randomUUID(),
    name,
    input: encode({}),
    owner: "owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
    claimFor: { workerId: "worker-a", leaseMs: LEASE_MS },
  });
  if (!res.created || !res.lease) throw new Error("no lease");
  return res.lease;
}

function spawnSpec(position: number, name = `flows.child.${randomUUID()}`): ChildSpawn {
  const id = randomUUID();
  return {
    step: {
      position,
      key: `spawn#${position}`,
      output: encode(id),
      emits: 0,
      startedAt: T0 + 1,
      at: T0 + 1,
      attempts: 1,
    },
    child: { id, name, input: encode({}), runAt: T0 + 1 },
    event: childEventData(id, name, "queued"),
    now: T0 + 1,
  };
}

/** Spawns a child of `parent` (at checkpoint 0) and claims it; returns the child's lease. */
async function runningChild(store: TaskStore, parent: Lease, name?: string): Promise<Lease> {
  const spec = spawnSpec(0, name);
  await store.spawnChild(parent, spec);
  const [claimed] = await store.claimTasks({
    workerId: "worker-c",
    names: [spec.child.name],
    limit: 1,
    now: T0 + 2,
    leaseMs: LEASE_MS,
  });
  if (!claimed) throw new Error("the child was not claimable");
  return claimed.lease;
}

const completed = { status: "completed", result: encode(1), event: encode({ result: 1 }) } as const;

/** Starts both operations in the same tick, once both are ready, and waits for both. */
function race<A, B>(a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  let open!: () => void;
  const barrier = new Promise<void>((resolve) => {
    open = resolve;
  });
  const both = Promise.all([barrier.then(a), barrier.then(b)]);
  open();
  return both;
}

describePg(env, "postgresStore flows across nodes", () => {
  it("a child settled on node B wakes the parent waiting on node A and rings A's work watcher", async () => {
    const a = await node({ pollIntervalMs: 0 }); // rings can only come by NOTIFY
    const b = await node({ pollIntervalMs: 0 });
    const parent = await running(a);
    const child = await runningChild(a, parent);
    let rings = 0;
    onTestFinished(a.watchWork(() => rings++));
    await a.settleTask(
      parent,
      { status: "waiting", runAt: NEVER_DUE, wakeOn: { children: [child.taskId] } },
      T0 + 3,
    );
    expect((await a.getTask(parent.taskId))?.status).toBe("waiting");
    await b.settleTask(child, completed, T0 + 4);
    await vi.waitFor(() => expect(rings > 0, "A's work watcher ring").toBe(true), {
      timeout: 2000,
      interval: 5,
    });
    expect(await a.getTask(parent.taskId)).toMatchObject({ status: "queued", runAt: T0 + 4, lastSeq: 2 });
    const [claimed] = await a.claimTasks({
      workerId: "worker-a",
      names: [(await a.getTask(parent.taskId))!.name],
      limit: 1,
      now: T0 + 4,
      leaseMs: LEASE_MS,
    });
    expect(claimed?.task.id).toBe(parent.taskId);
  });

  it("a cancel on node B of a queued child notifies the waiting parent and rings A's work watcher", async () => {
    const a = await node({ pollIntervalMs: 0 });
    const b = await node({ pollIntervalMs: 0 });
    const parent = await running(a);
    const spec = spawnSpec(0);
    await a.spawnChild(parent, spec);
    let rings = 0;
    onTestFinished(a.watchWork(() => rings++));
    const wakeOn = { children: [spec.child.id] };
    await a.settleTask(parent, { status: "waiting", runAt: NEVER_DUE, wakeOn }, T0 + 3);
    expect((await b.requestCancel(spec.child.id, T0 + 4, encode(null))).outcome).toBe("cancelled");
    await vi.waitFor(() => expect(rings > 0, "A's work watcher ring").toBe(true), {
      timeout: 2000,
      interval: 5,
    });
    expect((await a.getTask(parent.taskId))?.status).toBe("queued");
    const events = await a.readEvents(parent.taskId, 0, 10);
    expect(events.map((e) => e.data)).toEqual([
      spec.event,
      childEventData(spec.child.id, spec.child.name, "cancelled"),
    ]);
  });

  it("the parent's child event data is exactly childEventData, whatever the child's name", async () => {
    const store = await node();
    const parent = await running(store);
    const name = `flows."quoted"\\back\nnew\u0001ctl\u2028ls-é-😀-${randomUUID()}`;
    const child = await runningChild(store, parent, name);
    await store.settleTask(child, completed, T0 + 4);
    const [, settled] = await store.readEvents(parent.taskId, 0, 10);
    expect(settled).toEqual({
      seq: 2,
      name: "child",
      data: childEventData(child.taskId, name, "completed"),
      at: T0 + 4,
    });
  });

  it("concurrent signal deliveries from both nodes get distinct consecutive indexes in arrival order", async () => {
    const [a, b] = [await node(), await node()];
    const lease = await running(a);
    const deliveries = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).deliverSignal({
          taskId: lease.taskId,
          name: "approve",
          payload: encode({ i }),
          now: T0 + i,
        }),
      ),
    );
    const indexes = deliveries.map((d) => d.index).sort((x, y) => x - y);
    expect(indexes).toEqual(Array.from({ length: 40 }, (_, i) => i));
    for (const [i, delivery] of deliveries.entries()) {
      expect(await b.readSignal(lease.taskId, "approve", delivery.index)).toBe(encode({ i }));
    }
  });

  it("concurrent deliveries with one idempotency key from both nodes record one signal", async () => {
    const [a, b] = [await node(), await node()];
    const lease = await running(a);
    const signal = {
      taskId: lease.taskId,
      name: "approve",
      payload: encode(1),
      idempotencyKey: "k",
      now: T0,
    };
    const deliveries = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).deliverSignal(signal)),
    );
    expect(deliveries.filter((d) => !d.duplicate)).toHaveLength(1);
    expect(deliveries.every((d) => d.index === 0)).toBe(true);
    expect(await a.readSignal(lease.taskId, "approve", 1)).toBeUndefined();
  });

  it("racing retries from both nodes: exactly one wins, the other gets NOT_RESUMABLE naming queued", async () => {
    const [a, b] = [await node(), await node()];
    for (let round = 0; round < 20; round++) {
      const lease = await running(a);
      const error = { code: "BOOM", message: "boom" };
      await a.settleTask(lease, { status: "failed", error, event: encode({ error }) }, T0 + 1);
      const results = await race(
        () =>
          a.retryTask(lease.taskId, T0 + 2).then(
            () => "won",
            (e: unknown) => e,
          ),
        () =>
          b.retryTask(lease.taskId, T0 + 2).then(
            () => "won",
            (e: unknown) => e,
          ),
      );
      expect(results.filter((r) => r === "won")).toHaveLength(1);
      const lost = results.find((r) => r !== "won");
      expect(isTaskwireError(lost, ErrorCode.NOT_RESUMABLE)).toBe(true);
      expect((lost as { details?: unknown }).details).toMatchObject({ status: "queued" });
      expect(await a.getTask(lease.taskId)).toMatchObject({ status: "queued", attempt: 2 });
    }
  });

  it("a waiting settlement racing its child's settlement on another node never loses the wake-up", async () => {
    const [a, b] = [await node({ pollIntervalMs: 0 }), await node({ pollIntervalMs: 0 })];
    const deadline = Date.now() + 60_000;
    const rounds = 300;
    for (let round = 0; round < rounds && Date.now() < deadline; round++) {
      const parent = await running(a);
      const child = await runningChild(a, parent);
      const wakeOn = { children: [child.taskId] };
      await race(
        () => a.settleTask(parent, { status: "waiting", runAt: NEVER_DUE, wakeOn }, T0 + 3),
        () => b.settleTask(child, completed, T0 + 3),
      );
      const task = await b.getTask(parent.taskId);
      expect({ round, status: task?.status, lastSeq: task?.lastSeq }).toEqual({
        round,
        status: "queued",
        lastSeq: 2,
      });
    }
  }, 90_000);

  it("a waiting settlement racing a signal delivery on another node never loses the wake-up", async () => {
    const [a, b] = [await node({ pollIntervalMs: 0 }), await node({ pollIntervalMs: 0 })];
    const deadline = Date.now() + 60_000;
    for (let round = 0; round < 300 && Date.now() < deadline; round++) {
      const lease = await running(a);
      const wakeOn = { signals: [{ name: "go", index: 0 }] };
      await race(
        () => a.settleTask(lease, { status: "waiting", runAt: NEVER_DUE, wakeOn }, T0 + 3),
        () => b.deliverSignal({ taskId: lease.taskId, name: "go", payload: encode(round), now: T0 + 3 }),
      );
      expect({ round, status: (await b.getTask(lease.taskId))?.status }).toEqual({ round, status: "queued" });
    }
  }, 90_000);
});
