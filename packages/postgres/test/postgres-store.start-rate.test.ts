import { createTaskflow, defineTask, isTaskwireError, runInUserContext, type Taskflow } from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import { createFakeClock, type FakeClock } from "@taskwire/testing";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { pino } from "pino";
import { expect, it, onTestFinished } from "vitest";
import { z } from "zod";

const env = await setupPgEnv("startrate");
const T0 = 1_000_000_000_000;

const def = defineTask({
  name: "rate.task",
  input: z.object({ n: z.number() }),
  result: z.number(),
  async run(input) {
    return input.n;
  },
});

/** A node: its own pool on the shared schema, its own clock, no worker (only starts are measured). */
async function node(clock: FakeClock, startRate: { perSecond: number; burst: number }): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: postgresStore({ connectionString: env.url, schema: env.schema, max: 4 }),
    worker: false,
    clock,
    logger: pino({ level: "silent" }),
    limits: { startRate },
  });
  onTestFinished(() => taskflow.shutdown());
  taskflow.task(def);
  return taskflow;
}

describePg(env, "startRate across nodes", () => {
  it("concurrent starts of one owner on two nodes never pass burst + perSecond × elapsed", async () => {
    const rate = { perSecond: 10, burst: 5 };
    // Node B's clock runs 30 ms behind node A's: a lagging clock refills nothing it did not see pass.
    const clockA = createFakeClock(T0);
    const clockB = createFakeClock(T0 - 30);
    const [a, b] = [await node(clockA, rate), await node(clockB, rate)];
    const outcomes = { admitted: 0, refused: 0 };
    const start = (taskflow: Taskflow, n: number) =>
      runInUserContext({ userId: "alice" }, () => taskflow.start(def, { n })).then(
        () => outcomes.admitted++,
        (error: unknown) => {
          if (!isTaskwireError(error, "BACKPRESSURE")) throw error;
          expect(error.details).toMatchObject({ limit: "startRate" });
          outcomes.refused++;
        },
      );
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await Promise.all([clockA.advance(100), clockB.advance(100)]);
      await Promise.all(Array.from({ length: 20 }, (_, i) => start(i % 2 === 0 ? a : b, round * 100 + i)));
    }
    const elapsedSeconds = ((rounds - 1) * 100) / 1000;
    expect(outcomes.admitted + outcomes.refused).toBe(rounds * 20);
    expect(outcomes.admitted).toBeLessThanOrEqual(rate.burst + rate.perSecond * elapsedSeconds);
    // Each 100 ms refills exactly one token, which exactly one of the racing starts gets.
    expect(outcomes.admitted).toBe(8);
    expect(await a.list({ owner: "alice", limit: 1000 })).toHaveLength(8);
  });
});
