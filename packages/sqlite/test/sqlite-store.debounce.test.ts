import { join } from "node:path";
import { createTaskflow, defineTask, type Taskflow } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { tempDir } from "./helpers";

const runs: number[] = [];
const def = defineTask({
  name: "sqlite.debounce",
  input: z.object({ n: z.number() }),
  result: z.number(),
  async run(input) {
    runs.push(input.n);
    return input.n;
  },
});

async function open(path: string, worker: boolean): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: sqliteStore({ path }),
    worker,
    // Far beyond the test: only the debounce wake-up can run the task in time.
    pollIntervalMs: 60_000,
    logger: pino({ level: "silent" }),
  });
  onTestFinished(() => taskflow.shutdown());
  taskflow.task(def);
  return taskflow;
}

describe("debounced starts on a SQLite file", () => {
  it("three starts within the period run once, with the last input; every caller got the same id", async () => {
    runs.length = 0;
    const taskflow = await open(join(tempDir(), "tasks.db"), true);
    const debounce = { key: "doc-1", periodMs: 400 };
    const results = [];
    for (let n = 1; n <= 3; n++) results.push(await taskflow.start(def, { n }, { debounce }));
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.taskId)).size).toBe(1);
    const taskId = results[0]!.taskId;
    for await (const event of taskflow.subscribe(taskId)) {
      if (event.name !== "completed") expect.fail(`ended ${event.name}`);
    }
    expect(runs).toEqual([3]);
    expect(await taskflow.list({ name: def.name })).toHaveLength(1);
  });

  it("two processes' handles on one file fold their starts into one task", async () => {
    runs.length = 0;
    const path = join(tempDir(), "tasks.db");
    const [a, b] = [await open(path, true), await open(path, false)];
    const debounce = { key: "doc-2", periodMs: 1000 };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => (n % 2 ? b : a).start(def, { n }, { debounce })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.taskId));
    expect(ids.size).toBe(1);
    const [taskId] = ids;
    for await (const event of a.subscribe(taskId!)) {
      if (event.name !== "completed") expect.fail(`ended ${event.name}`);
    }
    expect(runs).toHaveLength(1);
  });
});
