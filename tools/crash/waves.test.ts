import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTaskflow, type TaskEvent } from "@taskwire/core";
import { decode } from "@taskwire/core/store";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type FlowRunReport, runFlowLives } from "./flow-harness";
import { FLOW_CHILD, flowBodyKeys, parentResult } from "./flow-tasks";
import { describeRun } from "./harness";
import type { LifePlan } from "./life";
import { square, sumOfSquares } from "./waves-example";
import { prepareWorkerCommand, type WorkerCommand } from "./worker-command";

/**
 * "Waves": a three-stage flow (stage 1 computes the item list in a step; stage 2 fans out one child per
 * item; stage 3 joins their results in a step — `flow-tasks.ts`, workload `waves`; the tools README shows
 * the same flow as an example) SIGKILLed at named points between and during the stages, restarted after
 * each kill, and checked like every flow run (exactly `width` children, exactly-once step bodies, gapless
 * streams, see flow-verify.ts) plus the kills landing where planned and the final result.
 */
const WIDTH = 3;
const spawnKey = (i: number) => `spawn:${FLOW_CHILD}#${i}`;
let command: WorkerCommand | undefined;

beforeAll(async () => {
  command = await prepareWorkerCommand();
}, 60_000);

afterAll(() => command?.dispose());

/** A life frozen at the first point named `point` (see `createReporter`), then SIGKILLed. */
const killAt = (point: string, mode: LifePlan["mode"] = "resume"): LifePlan => ({
  mode,
  killAt: `=${point}`,
  style: "freeze",
  delayMs: 0,
});
const lastLife: LifePlan = { mode: "resume", killAt: "none", style: "freeze", delayMs: 0 };

async function runWaves(seed: number, kills: string[]): Promise<FlowRunReport> {
  const lives = [...kills.map((point, i) => killAt(point, i === 0 ? "start" : "resume")), lastLife];
  const report = await runFlowLives(seed, { workload: "waves", width: WIDTH, lives }, { command: command! });
  if (report.violations.length > 0) throw new Error(`Durability violated\n${describeRun(report)}`);
  // Every kill landed exactly where it was planned, and the life after the last one finished the flow.
  expect(report.lives.map((l) => (l.killed ? l.killPoint : l.terminal))).toEqual([...kills, "completed"]);
  const parent = report.final.tasks.find((t) => t.label === "parent");
  const { childIds, ...result } = decode<{ childIds: string[] }>(parent?.result ?? "{}");
  expect(result).toEqual(parentResult(seed, WIDTH, null));
  expect(new Set(childIds).size).toBe(WIDTH);
  expect(report.final.tasks).toHaveLength(WIDTH + 1);
  return report;
}

/** The final execution count of every step body. */
const countsOf = (report: FlowRunReport) => report.lives.at(-1)?.counts ?? {};

describe("waves: a plan step, a fan-out, a join step — SIGKILLed between and during stages", () => {
  it.concurrent("stage 1 and the boundary to stage 2: in the plan step, after it, before and after the spawns", async () => {
    const report = await runWaves(11, [
      "body:parent/plan#0", // stage 1 in flight: the plan step runs again
      "step-committed:parent/plan#0", // between stages 1 and 2: plan recorded, nothing spawned
      `spawn:parent/${spawnKey(0)}`, // stage 2: the spawn writes are queued, none committed
      `spawned:parent/${spawnKey(WIDTH - 1)}`, // stage 2: every spawn committed, the children not run
    ]);
    const counts = countsOf(report);
    // Only the plan step was caught in flight; the replays spawned no second child and re-ran nothing.
    expect(counts).toEqual({
      ...Object.fromEntries(flowBodyKeys(WIDTH, false).map((k) => [k, 1])),
      "parent/plan#0": 2,
    });
  }, 60_000);

  it.concurrent("stage 2 and 3: in the children, before the join, in it, after it, after the settlement", async () => {
    const report = await runWaves(12, [
      "body:child1/work#0", // stage 2: children in flight (child1's first step at least)
      "between:parent/joined", // between stages 2 and 3: every child's result recorded, no join yet
      "body:parent/join#0", // stage 3 in flight: the join runs again
      "step-committed:parent/join#0", // after stage 3, before the parent settles
      "settled:parent/completed", // the settlement committed; the next life only attaches
    ]);
    const counts = countsOf(report);
    expect(counts["parent/plan#0"]).toBe(1);
    expect(counts["parent/join#0"]).toBe(2);
    expect(counts["child1/work#0"]).toBe(2);
    // child1 was frozen in its first step, so its second had not begun: it ran once.
    expect(counts["child1/work#1"]).toBe(1);
  }, 60_000);
});

describe("the README's Waves example", () => {
  it("plans, fans out one child per item, joins: sum of squares 1..4 on a SQLite file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "taskwire-waves-"));
    const taskflow = await createTaskflow({
      store: sqliteStore({ path: join(dir, "tasks.db") }),
      logger: pino({ level: "silent" }),
      pollIntervalMs: 20,
    });
    onTestFinished(async () => {
      await taskflow.shutdown();
      rmSync(dir, { recursive: true, force: true });
    });
    taskflow.task(square);
    const ref = taskflow.task(sumOfSquares);
    const { taskId } = await taskflow.start(ref, { upTo: 4 });
    const events: TaskEvent[] = [];
    for await (const event of taskflow.subscribe(taskId)) events.push(event);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: { sum: 30 } } });
    const children = await taskflow.list({ parentId: taskId });
    expect(children.map((c) => c.status)).toEqual(["completed", "completed", "completed", "completed"]);
    // The parent's stream shows the tree: one `queued` and one `completed` child event per child.
    const bridge = events.filter((e) => e.name === "child").map((e) => (e.data as { status: string }).status);
    expect(bridge.sort()).toEqual([...Array(4).fill("completed"), ...Array(4).fill("queued")]);
  });
});
