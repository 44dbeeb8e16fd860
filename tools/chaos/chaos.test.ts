import { describe, expect, it } from "vitest";
import { runChaos } from "./harness";
import { formatSummary, formatViolations } from "./summary";

/**
 * The short chaos run of `npm test`: three nodes on one SQLite file for ~20 s of chaos (SIGKILLs and
 * restarts every 1.5-3 s, dropping SSE clients, signals, non-owner probes), then settling and every
 * invariant of `verify.ts`. It also asserts the chaos really happened (kills, reconnects, completed
 * tasks, re-runs of steps caught in flight), or a quiet run would prove nothing.
 * `CHAOS_SEED` reproduces a run's random choices (timings still vary); `CHAOS_MINUTES` lengthens it.
 */
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
const minutes = Number(process.env.CHAOS_MINUTES ?? 0.35);

describe(`chaos run (CHAOS_SEED=${seed})`, () => {
  it("survives SIGKILLs of random nodes with exactly-once steps, gapless streams and no leaks", async () => {
    const report = await runChaos({
      minutes,
      store: "sqlite",
      nodes: 3,
      seed,
      settleMs: 25_000,
      killer: { everyMs: [1500, 3000], downMs: [200, 1000] },
      driver: { lanes: 6 },
    });
    const summary = formatSummary(report);
    if (report.violations.length > 0)
      throw new Error(`${formatViolations(report)}\n\n${summary}\nreproduce with CHAOS_SEED=${seed}`);
    console.info(`chaos run, CHAOS_SEED=${seed}\n${summary}`);
    const { stats } = report;
    expect(stats.kills, "SIGKILLs").toBeGreaterThanOrEqual(3);
    expect(stats.reconnects, "client reconnects").toBeGreaterThanOrEqual(10);
    expect(stats.tasksCompleted, "tasks completed").toBeGreaterThanOrEqual(40);
    expect(stats.signals, "parents signalled").toBeGreaterThanOrEqual(5);
    expect(stats.probes404, "non-owner probes answered 404").toBeGreaterThanOrEqual(10);
  }, 120_000);
});
