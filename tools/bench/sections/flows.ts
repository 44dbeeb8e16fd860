import { fanOutThroughput, spawnResultLatency } from "../flows";
import { rawCommits, rawFloor } from "../raw-sqlite";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";

/**
 * Flows on SQLite (NORMAL): spawn + result of one child at a time, and a fan-out of no-op 3-step
 * children joined with `Promise.all` — against a raw commit and the sequential 3-commit floor.
 */
export const flowsSection: Section = {
  name: "flows",
  async run(ctx) {
    const { config } = ctx;
    const { median, samples } = await repeatMedians(ctx, async (scale) => {
      const commit = rawCommits(ctx.dir, scaled(config.steps, scale));
      const floor3 = rawFloor(ctx.dir, {
        commitsPerTask: 3,
        durationMs: Math.max(100, (config.durationMs / 2) * scale),
        synchronous: "NORMAL",
      });
      const spawn = await spawnResultLatency(ctx.dir, scaled(config.spawns, scale));
      const fanOut = await fanOutThroughput(ctx.dir, scaled(config.children, scale));
      return {
        spawnP50: spawn.p50Ms,
        spawnP99: spawn.p99Ms,
        commitP50: commit.p50Ms,
        commitP99: commit.p99Ms,
        fanOut,
        floor3,
      };
    });
    return {
      samples,
      rows: [
        row("flows", {
          id: "spawn-result.p50",
          scenario: `spawn + result of one 3-step child, p50 (${config.spawns} in a row)`,
          ours: median.spawnP50,
          unit: "ms",
          limit: { label: "raw 1-row commit p50", value: median.commitP50 },
        }),
        row("flows", {
          id: "spawn-result.p99",
          scenario: "spawn + result of one child, p99",
          ours: median.spawnP99,
          unit: "ms",
          limit: { label: "raw 1-row commit p99", value: median.commitP99 },
        }),
        row("flows", {
          id: "fan-out",
          scenario: `fan-out of ${config.children} 3-step children + join`,
          ours: median.fanOut,
          unit: "children/s",
          limit: { label: "3-commit floor (tasks/s)", value: median.floor3 },
        }),
      ],
    };
  },
};
