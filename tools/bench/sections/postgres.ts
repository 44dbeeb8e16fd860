import { closedLoop } from "../closed-loop";
import { countingPool } from "../pg/counting-pool";
import { createFloorTable, rawFloor } from "../pg/raw";
import { withPgSchema } from "../pg/schema";
import { openTaskflow } from "../pg/taskwire";
import { type Row, row } from "../report";
import { repeatMedians, type Section } from "../section";

/** Concurrent starters of the PostgreSQL "10+" runs (the pool has as many connections). */
const PG_STARTERS = 10;

/**
 * PostgreSQL throughput: no-op 3-step tasks through Taskwire (`postgresStore` on a counting pool, worker
 * concurrency 16) at 1 and 10 starters, against hand-written floors of 3 and 5 single-row INSERT commits
 * per task at the same number of starters (each on its own pooled connection); plus the queries (round
 * trips) the store's pool issued per task during the Taskwire runs.
 */
export const postgresSection: Section = {
  name: "postgres",
  async run(ctx) {
    const { config } = ctx;
    const counting = countingPool(config.pgUrl, config.pgPool);
    let topTexts: Array<{ perTask: number; text: string }> = [];
    try {
      return await withPgSchema(config.pgUrl, config.pgPool, async ({ url, schema, admin }) => {
        await createFloorTable(admin, schema);
        const { taskflow, completions } = await openTaskflow(
          { url, schema, poolSize: config.pgPool },
          { pool: counting.pool, concurrency: config.concurrency },
        );
        try {
          const { median, samples } = await repeatMedians(ctx, async (scale) => {
            const durationMs = Math.max(100, config.durationMs * scale);
            const out: Record<string, number> = {};
            for (const starters of [1, PG_STARTERS]) {
              const key = starters === 1 ? "1" : "N";
              for (const commitsPerTask of [3, 5]) {
                out[`floor${commitsPerTask}.${key}`] = await rawFloor(admin, schema, {
                  concurrency: starters,
                  durationMs,
                  commitsPerTask,
                });
              }
              counting.reset();
              const result = await closedLoop(taskflow, completions, { starters, durationMs });
              out[`tw.${key}`] = result.tasksPerSec;
              out[`queriesPerTask.${key}`] = counting.count() / result.tasks;
              if (key === "N") {
                topTexts = [...counting.byText()]
                  .map(([text, n]) => ({ perTask: n / result.tasks, text }))
                  .sort((a, b) => b.perTask - a.perTask)
                  .slice(0, 20);
              }
            }
            return out;
          });
          const m = (key: string) => median[key] ?? Number.NaN;
          const rows: Row[] = [];
          for (const [starters, key] of [
            [1, "1"],
            [PG_STARTERS, "N"],
          ] as const) {
            for (const commits of [5, 3]) {
              rows.push(
                row("postgres", {
                  id: `${key === "1" ? "1" : "n"}-starters.vs-${commits}-commit`,
                  scenario: `3-step no-op tasks, ${starters} starter${starters === 1 ? "" : "s"}, c=${config.concurrency}, pool ${config.pgPool}`,
                  ours: m(`tw.${key}`),
                  unit: "tasks/s",
                  limit: {
                    label: `${commits}-commit floor, ${starters} conn.`,
                    value: m(`floor${commits}.${key}`),
                  },
                  target: commits === 5 ? { on: "ratio", op: ">=", value: 0.8 } : undefined,
                }),
              );
            }
            rows.push(
              row("postgres", {
                id: `${key === "1" ? "1" : "n"}-starters.round-trips`,
                scenario: `queries (round trips) per task issued by the store's pool, ${starters} starter${starters === 1 ? "" : "s"}`,
                ours: m(`queriesPerTask.${key}`),
                unit: "q/task",
                limit: { label: "5 commits of the floor", value: 5 },
              }),
            );
          }
          return { rows, samples, details: { queriesPerTaskByText: topTexts } };
        } finally {
          await taskflow.shutdown();
        }
      });
    } finally {
      await counting.pool.end();
    }
  },
};
