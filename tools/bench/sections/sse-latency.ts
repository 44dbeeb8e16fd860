import { join } from "node:path";
import { withPgSchema } from "../pg/schema";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";
import { httpFloor, sseLatency } from "../sse/latency";
import { startServerProcess } from "../sse/server-process";

/**
 * Start → `completed` over SSE (`POST` with `Accept: text/event-stream` to `createTaskwireApp` in a
 * server process of its own, parsed here with eventsource-parser) against a `GET /ping` round trip on the
 * same server and client — on SQLite (NORMAL) and on PostgreSQL. The client is another process, as a
 * browser is: in one process its parsing of the early frames would delay the task it is timing.
 */
export const sseLatencySection: Section = {
  name: "sse-latency",
  async run(ctx) {
    const { config } = ctx;
    return await withPgSchema(config.pgUrl, 1, async ({ url, schema }) => {
      const servers = {
        sqlite: await startServerProcess({ mode: "latency", sqlitePath: join(ctx.dir, "sse-latency.db") }),
        postgres: await startServerProcess({
          mode: "latency",
          pgUrl: url,
          pgSchema: schema,
          pgPool: config.pgPool,
        }),
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
        await servers.sqlite.stop();
        await servers.postgres.stop();
      }
    });
  },
};
