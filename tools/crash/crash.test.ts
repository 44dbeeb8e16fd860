import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, type RunReport, runLives, runScenario } from "./harness";
import { POINT_KINDS } from "./protocol";
import { crashSettings, createLimiter, runSeed } from "./settings";
import { prepareWorkerCommand, type WorkerCommand } from "./worker-command";

/**
 * SIGKILLs a child process running a 6-step task on a SQLite file at randomized points (inside step
 * bodies, around checkpoint and event appends, between steps, around the settlement; frozen exactly
 * there or a few ms later), restarts it up to three times, and checks exactly-once checkpoints and a
 * gap-free, duplicate-free WAL (see verify.ts). `CRASH_RUNS` (default 20), `CRASH_SEED`,
 * `CRASH_CONCURRENCY` (default 2), `CRASH_TSX=1` (run the worker through tsx instead of a bundle).
 */
const settings = crashSettings();
const limit = createLimiter(settings.concurrency);
const reports: RunReport[] = [];
/** Generous: a run queued behind the limiter may wait for a few others first. */
const RUN_TIMEOUT_MS = 120_000;
let command: WorkerCommand | undefined;

const failure = (report: RunReport) =>
  new Error(
    `Durability violated; reproduce with CRASH_SEED=${report.seed} CRASH_RUNS=1\n${describeRun(report)}`,
  );

beforeAll(async () => {
  command = await prepareWorkerCommand();
}, 60_000);

afterAll(() => {
  command?.dispose();
  const kills = reports.flatMap((r) => r.lives.filter((l) => l.killed).map((l) => l.killPoint ?? "?"));
  const kinds = new Map<string, number>();
  for (const point of kills) {
    const kind = point.slice(0, point.indexOf(":"));
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const summary = [...kinds].map(([kind, n]) => `${kind} ${n}`).join(", ");
  console.info(
    `crash harness: seed ${settings.seed}, ${reports.length} runs, ${kills.length} SIGKILLs (${summary})`,
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
    const seen: Record<string, number> = {};
    for (const name of report.lives[0]?.points ?? []) {
      const kind = name.slice(0, name.indexOf(":"));
      seen[kind] = (seen[kind] ?? 0) + 1;
    }
    expect(seen).toEqual(POINT_KINDS);
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
});
