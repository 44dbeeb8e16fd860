import { createFloorTable, rawInsertLatency } from "../pg/raw";
import { withPgSchema } from "../pg/schema";
import { openTaskflow, taskwireStepLatency as pgStepLatency } from "../pg/taskwire";
import { rawCommits } from "../raw-sqlite";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";
import { taskwireStepLatency } from "../taskwire";

/**
 * Step overhead: one task calling `ctx.step` many times in a row (no-op bodies), each call timed to its
 * durable checkpoint, against one raw single-row commit — SQLite (NORMAL) and PostgreSQL.
 */
export const stepsSection: Section = {
  name: "steps",
  async run(ctx) {
    const { config } = ctx;
    const pgSteps = Math.max(10, Math.round(config.steps / 4));
    return withPgSchema(config.pgUrl, 2, async ({ url, schema, admin }) => {
      await createFloorTable(admin, schema);
      const { taskflow } = await openTaskflow({ url, schema, poolSize: config.pgPool });
      try {
        const { median, samples } = await repeatMedians(ctx, async (scale) => {
          const commit = rawCommits(ctx.dir, scaled(config.steps, scale));
          const step = await taskwireStepLatency(ctx.dir, scaled(config.steps, scale));
          const insert = await rawInsertLatency(admin, schema, scaled(pgSteps, scale));
          const pgStep = await pgStepLatency(taskflow, scaled(pgSteps, scale));
          return {
            sqliteStepP50: step.p50Ms,
            sqliteStepP99: step.p99Ms,
            sqliteCommitP50: commit.p50Ms,
            sqliteCommitP99: commit.p99Ms,
            pgStepP50: pgStep.p50Ms,
            pgStepP99: pgStep.p99Ms,
            pgInsertP50: insert.p50Ms,
            pgInsertP99: insert.p99Ms,
          };
        });
        const sqliteLimit = (value: number) => ({ label: "raw 1-row commit (better-sqlite3)", value });
        const pgLimit = (value: number) => ({ label: "raw 1-row INSERT commit (pg)", value });
        return {
          samples,
          rows: [
            row("steps", {
              id: "sqlite.p50",
              scenario: `SQLite NORMAL: ctx.step p50 (${config.steps} in a row)`,
              ours: median.sqliteStepP50,
              unit: "ms",
              limit: sqliteLimit(median.sqliteCommitP50),
              target: { on: "value", op: "<=", value: 0.2 },
            }),
            row("steps", {
              id: "sqlite.p99",
              scenario: "SQLite NORMAL: ctx.step p99",
              ours: median.sqliteStepP99,
              unit: "ms",
              limit: sqliteLimit(median.sqliteCommitP99),
            }),
            row("steps", {
              id: "postgres.p50",
              scenario: `PostgreSQL: ctx.step p50 (${pgSteps} in a row)`,
              ours: median.pgStepP50,
              unit: "ms",
              limit: pgLimit(median.pgInsertP50),
            }),
            row("steps", {
              id: "postgres.p99",
              scenario: "PostgreSQL: ctx.step p99",
              ours: median.pgStepP99,
              unit: "ms",
              limit: pgLimit(median.pgInsertP99),
            }),
          ],
        };
      } finally {
        await taskflow.shutdown();
      }
    });
  },
};
