import { createTaskflow, defineTask, runInUserContext, type Taskflow } from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { pino } from "pino";
import { expect, it, onTestFinished } from "vitest";
import { z } from "zod";

const env = await setupPgEnv("running");

/** Which owner's body started, in order, and the most bodies seen running at once (both nodes are in this process). */
const seen = { order: [] as string[], now: 0, peak: 0 };

const def = defineTask({
  name: "running.fair",
  input: z.object({ ms: z.number() }),
  result: z.boolean(),
  async run(input, ctx) {
    seen.order.push(ctx.user.userId);
    seen.peak = Math.max(seen.peak, ++seen.now);
    await new Promise((resolve) => setTimeout(resolve, input.ms)); // the task's work
    seen.now--;
    return true;
  },
});

/** A node on the shared schema; `worker: false` makes an API-only node. */
async function node(worker: boolean): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: postgresStore({ connectionString: env.url, schema: env.schema, max: 4 }),
    worker: worker ? undefined : false,
    concurrency: 16,
    pollIntervalMs: 50,
    leaseMs: 5_000,
    logger: pino({ level: "silent" }),
    limits: { maxRunning: 4 },
  });
  onTestFinished(() => taskflow.shutdown());
  taskflow.task(def);
  return taskflow;
}

describePg(env, "running caps across nodes", () => {
  it("maxRunning 4 over two worker nodes of 16 slots: never more than 4 bodies, and two owners' 100 tasks interleave", async () => {
    const api = await node(false);
    const submit = (owner: string) =>
      runInUserContext({ userId: owner }, async () => {
        const ids: string[] = [];
        for (let i = 0; i < 100; i++) ids.push((await api.start(def, { ms: 5 })).taskId);
        return ids;
      });
    // Alice's whole backlog is queued before Bob's: a first-come order would run all of hers first.
    const ids = [...(await submit("alice")), ...(await submit("bob"))];
    const [a, b] = [await node(true), await node(true)];
    for (const [i, taskId] of ids.entries()) {
      for await (const _ of (i % 2 ? a : b).subscribe(taskId)); // ends after the terminal event
    }
    expect(seen.order).toHaveLength(200);
    expect(seen.peak).toBeLessThanOrEqual(4);
    expect(seen.peak).toBeGreaterThanOrEqual(2); // both nodes ran at once, within the cap
    // Neither owner waits for the other's backlog: the first 20 bodies split evenly.
    const first = seen.order.slice(0, 20);
    expect(first.filter((o) => o === "bob").length).toBeGreaterThanOrEqual(8);
    expect(first.filter((o) => o === "alice").length).toBeGreaterThanOrEqual(8);
    expect(seen.order.indexOf("bob")).toBeLessThan(4);
  });
});
