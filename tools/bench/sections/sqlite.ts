import { rawFloor, type Synchronous } from "../raw-sqlite";
import { type Row, row } from "../report";
import { repeatMedians, type Section } from "../section";
import { taskwireThroughput } from "../taskwire";

/**
 * SQLite throughput: no-op 3-step tasks through Taskwire at 1 starter and at `starters` (default 16,
 * worker concurrency 16, the engine default), with `synchronous` NORMAL (shipped default) and FULL,
 * against the sequential hand-written floors of 3 and 5 single-row commits per task at the same level.
 */
export const sqliteSection: Section = {
  name: "sqlite",
  async run(ctx) {
    const { config } = ctx;
    const levels: Synchronous[] = ["NORMAL", "FULL"];
    const { median, samples } = await repeatMedians(ctx, async (scale, repeat) => {
      const durationMs = Math.max(100, config.durationMs * scale);
      const out: Record<string, number> = {};
      // Alternate which level goes first per repeat: a position bias (page cache, disk state) cancels out.
      const order = repeat % 2 === 0 ? levels : [...levels].reverse();
      for (const synchronous of order) {
        for (const commitsPerTask of [3, 5]) {
          out[`${synchronous}.floor${commitsPerTask}`] = rawFloor(ctx.dir, {
            commitsPerTask,
            durationMs,
            synchronous,
          });
        }
        for (const starters of [1, config.starters]) {
          const result = await taskwireThroughput(ctx.dir, {
            durationMs,
            concurrency: config.concurrency,
            starters,
            synchronous,
          });
          out[`${synchronous}.tw${starters === 1 ? "1" : "N"}`] = result.tasksPerSec;
        }
      }
      out.fullVsNormal = (out["FULL.twN"] ?? 0) / (out["NORMAL.twN"] ?? 1);
      return out;
    });
    const m = (key: string) => median[key] ?? Number.NaN;
    const rows: Row[] = [];
    for (const level of levels) {
      for (const [starters, key] of [
        [1, "tw1"],
        [config.starters, "twN"],
      ] as const) {
        for (const commits of [3, 5]) {
          const target =
            key === "twN" && level === "NORMAL" && commits === 3
              ? ({ on: "ratio", op: ">=", value: 0.85 } as const)
              : key === "twN" && level === "FULL" && commits === 5
                ? ({ on: "ratio", op: ">=", value: 3 } as const)
                : undefined;
          rows.push(
            row("sqlite", {
              id: `${level.toLowerCase()}.${key === "tw1" ? "1" : "n"}-starters.vs-${commits}-commit`,
              scenario: `${level}: 3-step no-op tasks, ${starters} starter${starters === 1 ? "" : "s"}, c=${config.concurrency}`,
              ours: m(`${level}.${key}`),
              unit: "tasks/s",
              limit: { label: `${commits}-commit floor, sequential`, value: m(`${level}.floor${commits}`) },
              target,
            }),
          );
        }
      }
    }
    rows.push(
      row("sqlite", {
        id: "full-vs-normal",
        scenario: `FULL vs NORMAL Taskwire, ${config.starters} starters (cost ${((1 - m("fullVsNormal")) * 100).toFixed(0)}%; MET = FULL should become the default)`,
        ours: m("FULL.twN"),
        unit: "tasks/s",
        limit: { label: "Taskwire on NORMAL", value: m("NORMAL.twN") },
        ratio: m("fullVsNormal"),
        target: { on: "ratio", op: ">=", value: 0.8 },
      }),
    );
    return { rows, samples };
  },
};
