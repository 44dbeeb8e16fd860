import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { DEBOUNCE_LIMITS, defineTask, isTaskwireError, runInUserContext, type Taskflow } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

const PERIOD = 300;

/** A task that records each run's input and when it began. */
function recorder(name: string) {
  const runs: Array<{ n: number; at: number }> = [];
  const def = defineTask({
    name,
    input: z.object({ n: z.number() }),
    result: z.number(),
    async run(input) {
      runs.push({ n: input.n, at: Date.now() });
      return input.n;
    },
  });
  return { def, runs };
}

/** Polls `check` until it holds or the deadline passes. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The issue paths of a rejected start's `ValidationError`. */
async function issuePaths(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTaskwireError(error, "VALIDATION_ERROR"), String(error)).toBe(true);
  return (error as { issues: Array<{ path: string }> }).issues.map((i) => i.path);
}

describe("start with debounce (engine)", () => {
  it("three starts within the period: one run with the last input, after the period, all with one id", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    // A poll far beyond the test: only the debounce wake-up can run the task in time.
    const taskflow = await makeTaskflow(onTestFinished, { pollIntervalMs: 60_000, logger });
    const { def, runs } = recorder("debounce.basic");
    const ref = taskflow.task(def);
    const debounce = { key: "doc-1", periodMs: PERIOD };
    const a = await taskflow.start(ref, { n: 1 }, { debounce });
    const b = await taskflow.start(ref, { n: 2 }, { debounce });
    const c = await taskflow.start(ref, { n: 3 }, { debounce });
    const lastStart = Date.now();
    expect(a.created).toBe(true);
    expect(b).toEqual({ taskId: a.taskId, created: false });
    expect(c).toEqual({ taskId: a.taskId, created: false });
    expect(runs).toEqual([]);
    const events = await collect(taskflow, a.taskId);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: 3 } });
    expect(runs.map((r) => r.n)).toEqual([3]);
    expect(runs[0]!.at).toBeGreaterThanOrEqual(lastStart + PERIOD - 5);
    const debounced = lines.filter((l) => l.event === "task.start_debounced");
    expect(debounced).toHaveLength(2);
    expect(debounced[0]).toMatchObject({ taskId: a.taskId, task: "debounce.basic" });
    expect(JSON.stringify(debounced)).not.toContain('"n"');
    expect(await taskflow.list({ name: "debounce.basic" })).toHaveLength(1);
  });

  it("maxWaitMs runs a steady stream of starts at least that often", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { pollIntervalMs: 60_000 });
    const { def, runs } = recorder("debounce.maxwait");
    const ref = taskflow.task(def);
    const debounce = { key: "k", periodMs: 200, maxWaitMs: 300 };
    const first = await taskflow.start(ref, { n: 0 }, { debounce });
    const ids = new Set<string>([first.taskId]);
    // Starts every 40 ms would push a plain debounce forever; the cap runs it ~300 ms after the first.
    for (let n = 1; runs.length === 0; n++) {
      ids.add((await taskflow.start(ref, { n }, { debounce })).taskId);
      await new Promise((resolve) => setTimeout(resolve, 40));
      if (n > 100) throw new Error("maxWaitMs never ran the task");
    }
    await eventually(() => runs.length >= 1);
    // The first window's task ran with one of the later inputs; later starts opened a new window.
    expect(runs[0]!.n).toBeGreaterThan(0);
    expect((await taskflow.get(first.taskId)).status).not.toBe("queued");
  });

  it("opens a new window once the run was claimed: a second run with the later input", async () => {
    const taskflow = await makeTaskflow(onTestFinished);
    const { def, runs } = recorder("debounce.windows");
    const ref = taskflow.task(def);
    const debounce = { key: "k", periodMs: 100 };
    const first = await taskflow.start(ref, { n: 1 }, { debounce });
    await collect(taskflow, first.taskId);
    const second = await taskflow.start(ref, { n: 2 }, { debounce });
    expect(second.created).toBe(true);
    expect(second.taskId).not.toBe(first.taskId);
    await collect(taskflow, second.taskId);
    expect(runs.map((r) => r.n)).toEqual([1, 2]);
  });

  it("scopes windows per owner and per key", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const { def } = recorder("debounce.scope");
    const ref = taskflow.task(def);
    const start = (user: string, key: string, n: number) =>
      runInUserContext({ userId: user }, () =>
        taskflow.start(ref, { n }, { debounce: { key, periodMs: 1000 } }),
      );
    const alice = await start("alice", "k", 1);
    const bob = await start("bob", "k", 2);
    const aliceOther = await start("alice", "k2", 3);
    const aliceAgain = await start("alice", "k", 4);
    expect(new Set([alice.taskId, bob.taskId, aliceOther.taskId]).size).toBe(3);
    expect(aliceAgain).toEqual({ taskId: alice.taskId, created: false });
  });

  it("a folded start is never refused by the start rate or maxQueued", async () => {
    const taskflow = await makeTaskflow(onTestFinished, {
      worker: false,
      limits: { startRate: { perSecond: 0.001, burst: 1 }, maxQueued: 1 },
    });
    const { def } = recorder("debounce.limits");
    const ref = taskflow.task(def);
    const debounce = { key: "k", periodMs: 1000 };
    const first = await taskflow.start(ref, { n: 1 }, { debounce });
    for (let n = 2; n < 6; n++) {
      expect(await taskflow.start(ref, { n }, { debounce })).toEqual({
        taskId: first.taskId,
        created: false,
      });
    }
    // A start that would open another window is an ordinary start: the empty bucket refuses it.
    const refused = await taskflow
      .start(ref, { n: 9 }, { debounce: { key: "k2", periodMs: 1000 } })
      .catch((e) => e);
    expect(isTaskwireError(refused, "BACKPRESSURE")).toBe(true);
  });

  it("rejects invalid debounce options with a ValidationError naming the field, writing nothing", async () => {
    const taskflow: Taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const { def } = recorder("debounce.invalid");
    const ref = taskflow.task(def);
    const start = (debounce: unknown, extra: object = {}) =>
      taskflow.start(ref, { n: 1 }, { debounce: debounce as never, ...extra });
    expect(await issuePaths(start({ key: "", periodMs: 10 }))).toEqual(["debounce.key"]);
    const longKey = "k".repeat(DEBOUNCE_LIMITS.maxKeyLength + 1);
    expect(await issuePaths(start({ key: longKey, periodMs: 10 }))).toEqual(["debounce.key"]);
    expect(await issuePaths(start({ key: "k", periodMs: 0 }))).toEqual(["debounce.periodMs"]);
    expect(await issuePaths(start({ key: "k", periodMs: 1.5 }))).toEqual(["debounce.periodMs"]);
    expect(await issuePaths(start({ key: "k", periodMs: DEBOUNCE_LIMITS.maxPeriodMs + 1 }))).toEqual([
      "debounce.periodMs",
    ]);
    expect(await issuePaths(start({ key: "k" }))).toEqual(["debounce.periodMs"]);
    expect(await issuePaths(start({ key: "k", periodMs: 100, maxWaitMs: 50 }))).toEqual([
      "debounce.maxWaitMs",
    ]);
    expect(await issuePaths(start({ key: "k", periodMs: 100, extra: 1 }))).toEqual(["debounce"]);
    expect(await issuePaths(start("k"))).toEqual(["debounce"]);
    expect(await issuePaths(start({ key: "k", periodMs: 100 }, { idempotencyKey: "i" }))).toEqual([
      "debounce",
    ]);
    expect(await taskflow.list({ name: "debounce.invalid" })).toEqual([]);
    // The boundaries themselves are valid.
    const ok = await start({
      key: "k".repeat(255),
      periodMs: DEBOUNCE_LIMITS.maxPeriodMs,
      maxWaitMs: DEBOUNCE_LIMITS.maxPeriodMs,
    });
    expect(ok.created).toBe(true);
  });
});
