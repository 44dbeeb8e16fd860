import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FlowRunReport, runFlowLives, runFlowScenario } from "./flow-harness";
import { describeRun, type RunReport, runLives, runScenario } from "./harness";
import { flowPointKinds, POINT_KINDS } from "./protocol";
import { crashSettings, createLimiter, runSeed } from "./settings";
import { prepareWorkerCommand, type WorkerCommand } from "./worker-command";

/**
 * SIGKILLs a child process running a 6-step task on a SQLite file at randomized points (inside step
 * bodies, around checkpoint and event appends, between steps, around the settlement; frozen exactly
 * there or a few ms later), restarts it up to three times, and checks exactly-once checkpoints and a
 * gap-free, duplicate-free WAL (see verify.ts). Then the same for flows: a parent fanning out children
 * and waiting for a signal delivered (and itself killed) by another process (see flow-harness.ts).
 * `CRASH_RUNS` (default 20), `CRASH_FLOW_RUNS` (default CRASH_RUNS / 6), `CRASH_SEED`,
 * `CRASH_CONCURRENCY` (default 2), `CRASH_TSX=1` (run the worker through tsx instead of a bundle).
 */
const settings = crashSettings();
const limit = createLimiter(settings.concurrency);
const reports: Array<RunReport | FlowRunReport> = [];
/** Generous: a run queued behind the limiter may wait for a few others first. */
const RUN_TIMEOUT_MS = 120_000;
let command: WorkerCommand | undefined;

const failure = (report: RunReport | FlowRunReport) =>
  new Error(
    `Durability violated; reproduce with CRASH_SEED=${report.seed} CRASH_RUNS=1\n${describeRun(report)}`,
  );

/** How often each point kind was reached in a life. */
const kindsOf = (points: readonly string[]) => {
  const seen: Record<string, number> = {};
  for (const name of points) {
    const kind = name.slice(0, name.indexOf(":"));
    seen[kind] = (seen[kind] ?? 0) + 1;
  }
  return seen;
};

beforeAll(async () => {
  command = await prepareWorkerCommand();
}, 60_000);

afterAll(() => {
  command?.dispose();
  const kills = reports.flatMap((r) => r.lives.filter((l) => l.killed).map((l) => l.killPoint ?? "?"));
  const summary = Object.entries(kindsOf(kills))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const deliveries = reports.flatMap((r) => ("deliveries" in r ? r.deliveries : []));
  console.info(
    `crash harness: seed ${settings.seed}, ${reports.length} runs, ${kills.length} SIGKILLs (${summary}); ` +
      `${deliveries.length} signal deliveries, ${deliveries.filter((d) => d.killed).length} SIGKILLed`,
  );
});

describe("crash harness", () => {
  it("an uninterrupted run passes the checks and reaches every point kind the plans draw from", async () => {
    const report = await limit(() =>
      runLives(settings.seed, [{ mode: "start", killAt: "none", style: "freeze", delayMs: 0 }], {
        command: command!,
      }),
    );
    if (report.violations.length > 0) throw failure(report);
    expect(kindsOf(report.lives[0]?.points ?? [])).toEqual(POINT_KINDS);
  }, 60_000);

  it("an uninterrupted flow passes the checks and reaches every flow point kind", async () => {
    const width = 3;
    const report = await limit(() =>
      runFlowLives(
        settings.seed,
        {
          workload: "flow",
          width,
          lives: [{ mode: "start", killAt: "none", style: "freeze", delayMs: 0 }],
          // Sent when the parent parks on it (the harness's rule for a signal not sent yet).
          signal: { life: 0, at: Number.MAX_SAFE_INTEGER, killAt: "none", style: "freeze", delayMs: 0 },
        },
        { command: command! },
      ),
    );
    if (report.violations.length > 0) throw failure(report);
    const seen = kindsOf(report.lives[0]?.points ?? []);
    expect(Object.keys(seen).sort()).toEqual(Object.keys(flowPointKinds(width, true)).sort());
    expect(report.deliveries.map((d) => d.signalled)).toEqual([{ index: 0, duplicate: false }]);
  }, 60_000);

  describe(`SIGKILL at random points (CRASH_SEED=${settings.seed} CRASH_RUNS=${settings.runs})`, () => {
    for (let i = 0; i < settings.runs; i++) {
      const seed = runSeed(settings, i);
      it.concurrent(
        `run ${i + 1}: seed ${seed}`,
        async () => {
          const report = await limit(() => runScenario(seed, { command: command! }));
          reports.push(report);
          if (report.violations.length > 0) throw failure(report);
          expect(report.final.task?.status).toBe("completed");
        },
        RUN_TIMEOUT_MS,
      );
    }
  });

  // CRASH_FLOW_RUNS=0 leaves the flow runs out (an empty suite would fail).
  describe.runIf(settings.flowRuns > 0)(
    `flows: SIGKILL at random points, signal at a random time (CRASH_FLOW_RUNS=${settings.flowRuns})`,
    () => {
      for (let i = 0; i < settings.flowRuns; i++) {
        const seed = runSeed(settings, i);
        it.concurrent(
          `flow run ${i + 1}: seed ${seed}`,
          async () => {
            const report = await limit(() => runFlowScenario(seed, "flow", { command: command! }));
            reports.push(report);
            if (report.violations.length > 0) throw failure(report);
            expect(report.final.tasks.map((t) => t.status)).toEqual(
              Array(report.plan.width + 1).fill("completed"),
            );
          },
          RUN_TIMEOUT_MS,
        );
      }
    },
  );
});
