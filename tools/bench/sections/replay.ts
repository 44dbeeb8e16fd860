import { join } from "node:path";
import Database from "better-sqlite3";
import { row } from "../report";
import { repeatMedians, type Section } from "../section";
import { readStream } from "../sse/client";
import { startServerProcess } from "../sse/server-process";
import { median as medianOf, nsToMs } from "../stats";

/** Times `fn` in ms. */
async function timed(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return nsToMs(process.hrtime.bigint() - t0);
}

/**
 * Replay of a finished task's stream (1,000 and 10,000 events by default) over SSE from a Taskwire server
 * process on SQLite — request to the `completed` frame, parsed with eventsource-parser — against a raw
 * read of the same WAL rows through better-sqlite3 in the bench process (one prepared SELECT, warm);
 * each repeat takes the median of 10 reads of each, alternating.
 */
export const replaySection: Section = {
  name: "replay",
  async run(ctx) {
    const { config } = ctx;
    const path = join(ctx.dir, "replay.db");
    const server = await startServerProcess({ mode: "taskwire", path, counts: [...config.replayEvents] });
    const db = new Database(path, { readonly: true });
    try {
      const select = db.prepare(
        "SELECT seq, name, data, at FROM taskwire_events WHERE task_id = ? ORDER BY seq",
      );
      const sizes = config.replayEvents.map((events, i) => ({ events, taskId: server.taskIds[i] ?? "" }));
      for (const { events, taskId } of sizes) {
        const rows = select.all(taskId).length;
        if (rows !== events + 1) throw new Error(`replay task has ${rows} WAL rows, expected ${events + 1}`);
      }
      // Several reads per repeat, median taken: one read is at the mercy of a GC pause or a cold path.
      const reads = config.quick ? 2 : 10;
      const { median, samples } = await repeatMedians(ctx, async () => {
        const out: Record<string, number> = {};
        for (const [i, { taskId }] of sizes.entries()) {
          const key = i === 0 ? "small" : "large";
          const sse: number[] = [];
          const raw: number[] = [];
          for (let k = 0; k < reads; k++) {
            sse.push(await timed(() => readStream(`${server.url}/api/tasks/${taskId}/events`)));
            raw.push(await timed(() => select.all(taskId)));
          }
          out[`${key}.sse`] = medianOf(sse);
          out[`${key}.raw`] = medianOf(raw);
        }
        return out;
      });
      const rows = sizes.map(({ events }, i) => {
        const key = i === 0 ? "small" : "large";
        return row("replay", {
          id: key,
          scenario: `replay of ${events} events over SSE to the completed frame (median of ${reads} reads)`,
          ours: median[`${key}.sse`] ?? Number.NaN,
          unit: "ms",
          limit: { label: "raw SELECT of the WAL rows", value: median[`${key}.raw`] ?? Number.NaN },
          target: i === 0 ? { on: "ratio", op: "<=", value: 2 } : undefined,
        });
      });
      return { rows, samples };
    } finally {
      db.close();
      await server.stop();
    }
  },
};
