import { join } from "node:path";
import { createTaskflow } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { noop3 } from "../noop3";
import { withPgSchema } from "../pg/schema";
import { openTaskflow } from "../pg/taskwire";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";
import { httpFloor, sseLatency, startBenchServer } from "../sse/latency";

/**
 * Start → `completed` over SSE (`POST` with `Accept: text/event-stream` to an in-process
 * `createTaskwireApp`, parsed with eventsource-parser) against a `GET /ping` round trip on the same
 * server and client — on SQLite (NORMAL) and on PostgreSQL.
 */
export const sseLatencySection: Section = {
  name: "sse-latency",
  async run(ctx) {
    const { config } = ctx;
    const sqlite = await createTaskflow({
      store: sqliteStore({ path: join(ctx.dir, "sse-latency.db") }),
      logger: pino({ level: "silent" }),
    });
    sqlite.task(noop3);
    try {
      return await withPgSchema(config.pgUrl, 1, async ({ url, schema }) => {
        const { taskflow: postgres } = await openTaskflow({ url, schema, poolSize: config.pgPool });
        const servers = {
          sqlite: await startBenchServer(sqlite),
          postgres: await startBenchServer(postgres),
        };
        try {
          const { median, samples } = await repeatMedians(ctx, async (scale) => {
            const n = scaled(config.samples, scale);
            const out: Record<string, number> = {};
            for (const store of ["sqlite", "postgres"] as const) {
              const http = await httpFloor(servers[store], n);
              const sse = await sseLatency(servers[store], n);
              out[`${store}.httpP50`] = http.p50Ms;
              out[`${store}.sseP50`] = sse.p50Ms;
              out[`${store}.httpP99`] = http.p99Ms;
              out[`${store}.sseP99`] = sse.p99Ms;
            }
            return out;
          });
          const m = (key: string) => median[key] ?? Number.NaN;
          const rows = (["sqlite", "postgres"] as const).flatMap((store) => {
            const name = store === "sqlite" ? "SQLite" : "PostgreSQL";
            return [
              row("sse-latency", {
                id: `${store}.p50`,
                scenario: `${name}: POST start → completed frame over SSE, p50 (${config.samples} in a row)`,
                ours: m(`${store}.sseP50`),
                unit: "ms",
                limit: { label: "GET /ping round trip p50", value: m(`${store}.httpP50`) },
                target: { on: "ratio", op: "<=", value: 3 },
              }),
              row("sse-latency", {
                id: `${store}.p99`,
                scenario: `${name}: the same, p99`,
                ours: m(`${store}.sseP99`),
                unit: "ms",
                limit: { label: "GET /ping round trip p99", value: m(`${store}.httpP99`) },
              }),
            ];
          });
          return { rows, samples };
        } finally {
          await servers.sqlite.close();
          await servers.postgres.close();
          await postgres.shutdown();
        }
      });
    } finally {
      await sqlite.shutdown();
    }
  },
};
