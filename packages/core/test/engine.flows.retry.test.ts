import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { defineTask, NonRetriableError, runInUserContext } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

const runs = { fetch: 0, render: 0 };
let broken = true;
const flaky = defineTask({
  name: "flows.flaky",
  input: z.object({}),
  result: z.object({ pages: z.number() }),
  events: { progress: z.object({ step: z.string() }) },
  retry: { maxAttempts: 1 },
  async run(_input, ctx) {
    const rows = await ctx.step("fetch", () => {
      runs.fetch += 1;
      return 7;
    });
    ctx.emit("progress", { step: "fetched" });
    const pages = await ctx.step("render", () => {
      runs.render += 1;
      if (broken) throw new NonRetriableError("renderer down");
      return rows * 2;
    });
    ctx.emit("progress", { step: "rendered" });
    return { pages };
  },
});

describe("taskflow.retry", () => {
  it("re-queues a failed task: completed steps are not re-run, events continue after the failed one", async () => {
    runs.fetch = 0;
    runs.render = 0;
    broken = true;
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(flaky);
    const alice = { userId: "alice" };
    const { taskId } = await runInUserContext(alice, () => taskflow.start(ref, {}));
    await runInUserContext(alice, async () => {
      const first = await collect(taskflow, taskId);
      expect(first.map((e) => e.name)).toEqual(["progress", "failed"]);
      broken = false;
      const snapshot = await taskflow.retry(taskId);
      expect(snapshot).toMatchObject({ status: "queued", attempt: 2 });
      const all = await collect(taskflow, taskId);
      // The whole history: the failed event stays, the retried run's events follow it without a gap.
      expect(all.map((e) => [e.seq, e.name])).toEqual([
        [1, "progress"],
        [2, "failed"],
        [3, "progress"],
        [4, "completed"],
      ]);
      expect(all.at(-1)).toMatchObject({ data: { result: { pages: 14 } } });
      expect(runs).toEqual({ fetch: 1, render: 2 });
    });
  });

  it("answers NotResumableError for any other status, and to the loser of two racing retries", async () => {
    broken = true;
    const taskflow = await makeTaskflow(onTestFinished);
    const ref = taskflow.task(flaky);
    const { taskId } = await taskflow.start(ref, {});
    await collect(taskflow, taskId);
    const outcomes = await Promise.allSettled([taskflow.retry(taskId), taskflow.retry(taskId)]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.find((o) => o.status === "rejected")).toMatchObject({
      reason: { code: "NOT_RESUMABLE", details: { status: "queued" } },
    });
    broken = false;
    await collect(taskflow, taskId, 2);
    await expect(taskflow.retry(taskId)).rejects.toMatchObject({
      code: "NOT_RESUMABLE",
      details: { status: "completed" },
    });
    await expect(runInUserContext({ userId: "bob" }, () => taskflow.retry(taskId))).rejects.toMatchObject({
      code: "TASK_NOT_FOUND",
    });
  });
});
