import { randomUUID } from "node:crypto";
import { isTaskwireError } from "@taskwire/core";
import type { Lease, NewTask, StepRecord, TaskStore } from "@taskwire/core/store";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import pg from "pg";
import { expect, it, onTestFinished } from "vitest";

const env = await setupPgEnv("stepbatch");
const T0 = 1_000_000_000_000;

/** A store on a pool that counts the multi-row checkpoint statements it runs. */
async function open(): Promise<{ store: TaskStore; batches: () => number }> {
  const pool = new pg.Pool({ connectionString: env.url, max: 4 });
  let batches = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
    const first = args[0] as { text?: string } | string;
    if ((typeof first === "string" ? first : (first.text ?? "")).includes("unnest($1::text[], $2::int[]"))
      batches++;
    return query(...args);
  };
  const store = postgresStore({ pool, schema: env.schema });
  onTestFinished(async () => {
    await store.close();
    await pool.end();
  });
  await store.open();
  return { store, batches: () => batches };
}

async function running(store: TaskStore): Promise<Lease> {
  const spec: NewTask = {
    id: randomUUID(),
    name: "batch.task",
    input: "{}",
    owner: "batch-owner",
    identity: null,
    parentId: null,
    runAt: T0,
    now: T0,
    claimFor: { workerId: "w", leaseMs: 60_000 },
  };
  const res = await store.createTask(spec);
  if (!res.created || !res.lease) throw new Error("no lease");
  return res.lease;
}

const step = (position: number, output = `"${position}"`): StepRecord => ({
  position,
  key: `s#${position}`,
  output,
  emits: 0,
  at: T0 + position,
  startedAt: T0,
  attempts: 1,
});

describePg(env, "appendStep group commit", () => {
  it("concurrent checkpoints of many tasks share statements, and each is durable when its call resolves", async () => {
    const { store, batches } = await open();
    const leases = await Promise.all(Array.from({ length: 20 }, () => running(store)));
    for (let position = 0; position < 3; position++) {
      await Promise.all(leases.map((lease) => store.appendStep(lease, step(position))));
    }
    expect(batches()).toBeGreaterThan(0); // calls that arrived behind one in flight went together
    for (const lease of leases) {
      const { steps } = await store.loadHistory(lease.taskId);
      expect(steps.map((s) => [s.position, s.output])).toEqual([
        [0, '"0"'],
        [1, '"1"'],
        [2, '"2"'],
      ]);
    }
  });

  it("in one batch: a second claimant of a position and a stale lease are refused, the others written", async () => {
    const { store } = await open();
    const [a, b] = [await running(store), await running(store)];
    const stale = { ...b, revision: b.revision - 1 };
    // The first call goes alone; the four behind it form one batch.
    const calls = [
      store.appendStep(a, step(0)),
      store.appendStep(b, step(0, '"first"')),
      store.appendStep(b, step(0, '"second"')),
      store.appendStep(stale, step(1)),
      store.appendStep(a, step(1)),
    ];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    for (const o of outcomes)
      if (o.status === "rejected") expect(isTaskwireError(o.reason, "STORE_CONFLICT")).toBe(true);
    expect((await store.loadHistory(b.taskId)).steps.map((s) => s.output)).toEqual(['"first"']);
    expect((await store.loadHistory(a.taskId)).steps).toHaveLength(2);
  });
});
