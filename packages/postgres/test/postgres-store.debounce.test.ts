import { createTaskflow, defineTask, type Taskflow } from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { pino } from "pino";
import { expect, it, onTestFinished } from "vitest";
import { z } from "zod";

const env = await setupPgEnv("debounce");

const runs: number[] = [];
const def = defineTask({
  name: "pg.debounce",
  input: z.object({ n: z.number() }),
  result: z.number(),
  async run(input) {
    runs.push(input.n);
    return input.n;
  },
});

/** A node: its own pool on the shared schema; a worker only where asked. */
async function node(worker: boolean): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: postgresStore({ connectionString: env.url, schema: env.schema, max: 6 }),
    worker,
    // Far beyond the test: only the debounce wake-up can run the task in time.
    pollIntervalMs: 60_000,
    logger: pino({ level: "silent" }),
  });
  onTestFinished(() => taskflow.shutdown());
  taskflow.task(def);
  return taskflow;
}

describePg(env, "debounced starts across PostgreSQL nodes", () => {
  it("many concurrent starts of one key on two nodes end with one task holding one of their inputs", async () => {
    // No worker, and a period far beyond the burst: the window stays open however slow the machine is.
    const [a, b] = [await node(false), await node(false)];
    const debounce = { key: "doc-1", periodMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => (n % 2 ? b : a).start(def, { n }, { debounce })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.taskId));
    expect(ids.size).toBe(1);
    const tasks = await b.store.listTasks({ name: def.name });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: "queued", claims: 0 });
    const { n } = JSON.parse(tasks[0]!.input) as { n: number };
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(40);
    await a.cancel(tasks[0]!.id);
  });

  it("a start on another node pushes the run: the worker re-arms for the pushed runAt", async () => {
    runs.length = 0;
    const [a, b] = [await node(true), await node(false)];
    const debounce = { key: "doc-3", periodMs: 500 };
    const first = await a.start(def, { n: 1 }, { debounce });
    // A later start on the worker-less node: node a's timer fires before the pushed runAt.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await b.start(def, { n: 2 }, { debounce });
    const pushedAt = Date.now() + debounce.periodMs;
    expect(second).toEqual({ taskId: first.taskId, created: false });
    for await (const event of a.subscribe(first.taskId)) {
      if (event.name !== "completed") expect.fail(`ended ${event.name}`);
    }
    expect(runs).toEqual([2]);
    // Well before the 60 s poll: the re-armed timer ran it.
    expect(Date.now() - pushedAt).toBeLessThan(5_000);
  });

  it("three sequential starts run once, with the last input", async () => {
    runs.length = 0;
    const a = await node(true);
    const debounce = { key: "doc-2", periodMs: 400 };
    const results = [];
    for (let n = 1; n <= 3; n++) results.push(await a.start(def, { n }, { debounce }));
    expect(new Set(results.map((r) => r.taskId)).size).toBe(1);
    for await (const event of a.subscribe(results[0]!.taskId)) {
      if (event.name !== "completed") expect.fail(`ended ${event.name}`);
    }
    expect(runs).toEqual([3]);
  });
});
