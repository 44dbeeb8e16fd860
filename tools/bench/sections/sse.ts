import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";
import { readStream, splitFrames } from "../sse/client";
import { type ServerProcess, startServerProcess } from "../sse/server-process";
import { median, nsToMs, perSecond } from "../stats";

const MB = 2 ** 20;

/** `streams` concurrent reads of `urls`: wall time (ms) and the server's RSS growth (MB). */
async function burst(server: ServerProcess, urls: readonly string[]) {
  // Warm-up, the same for both servers: 50 concurrent reads first (a fifth of a small burst), so the burst times serving streams
  // (and the RSS grows by what 1,000 streams hold), not the JIT compiling a fresh process's code paths.
  await Promise.all(urls.slice(0, Math.min(50, Math.ceil(urls.length / 5))).map((url) => readStream(url)));
  await server.mark();
  const t0 = process.hrtime.bigint();
  const reads = await Promise.all(urls.map((url) => readStream(url)));
  const ms = nsToMs(process.hrtime.bigint() - t0);
  const { baseline, peak } = await server.peak();
  // At least one page: a small (--quick) burst may leave a warmed server's RSS where it was, and a growth
  // of 0 would make the ratio infinite.
  const rssMb = Math.max(peak - baseline, 4096) / MB;
  return { ms, rssMb, events: reads.reduce((n, r) => n + r.events, 0) };
}

/**
 * One client reading one stream to its end, `reads` times in a row: the median events/s (the server
 * process is fresh, so the first read also pays its JIT warm-up).
 */
async function oneClient(url: string, reads: number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < reads; i++) {
    const t0 = process.hrtime.bigint();
    const { events } = await readStream(url);
    rates.push(perSecond(events, nsToMs(process.hrtime.bigint() - t0)));
  }
  return median(rates);
}

/**
 * SSE delivery against a bare `node:http` SSE server writing the very bytes Taskwire sent (captured in
 * this run): events/s to one client replaying a long finished stream, and N concurrent streams of a
 * few events each — wall time and the server process's RSS growth. Servers run in child processes (so
 * RSS is the server's alone), a fresh pair per repeat; clients parse with eventsource-parser.
 */
export const sseSection: Section = {
  name: "sse",
  async run(ctx) {
    const { config } = ctx;
    const large = config.replayEvents[1];
    const path = join(ctx.dir, "sse.db");
    const counts = [large, ...Array.from({ length: config.streams }, () => config.eventsPerStream)];
    const prepared = await startServerProcess({ mode: "taskwire", path, counts });
    const [largeId = "", ...smallIds] = prepared.taskIds;
    const eventsUrl = (base: string, id: string) => `${base}/api/tasks/${id}/events`;
    let framesFile = "";
    try {
      const largeRaw = (await readStream(eventsUrl(prepared.url, largeId), true)).raw ?? "";
      const smallRaw = (await readStream(eventsUrl(prepared.url, smallIds[0] ?? ""), true)).raw ?? "";
      framesFile = join(ctx.dir, "frames.json");
      writeFileSync(
        framesFile,
        JSON.stringify({ large: splitFrames(largeRaw), small: splitFrames(smallRaw) }),
      );
    } finally {
      await prepared.stop();
    }
    const reads = config.quick ? 1 : 3;
    const { median: med, samples } = await repeatMedians(ctx, async (scale, repeat) => {
      const n = scaled(config.streams, scale, 2);
      const taskwire = await startServerProcess({ mode: "taskwire", path, counts: [] });
      const bare = await startServerProcess({ mode: "bare", framesFile });
      try {
        const runTaskwire = () =>
          burst(
            taskwire,
            smallIds.slice(0, n).map((id) => eventsUrl(taskwire.url, id)),
          );
        const runBare = () =>
          burst(
            bare,
            Array.from({ length: n }, () => `${bare.url}/streams/small`),
          );
        // Alternate which server goes first: the client process warms up on the first.
        const first = repeat % 2 === 0 ? await runTaskwire() : await runBare();
        const second = repeat % 2 === 0 ? await runBare() : await runTaskwire();
        const [tw, raw] = repeat % 2 === 0 ? [first, second] : [second, first];
        if (tw.events !== raw.events) throw new Error(`stream burst: ${tw.events} vs ${raw.events} events`);
        return {
          streamsMs: tw.ms,
          bareStreamsMs: raw.ms,
          streamsRssMb: tw.rssMb,
          bareStreamsRssMb: raw.rssMb,
          oneClient: await oneClient(eventsUrl(taskwire.url, largeId), reads),
          bareOneClient: await oneClient(`${bare.url}/streams/large`, reads),
        };
      } finally {
        await taskwire.stop();
        await bare.stop();
      }
    });
    const bare = "bare node:http SSE, same bytes";
    return {
      samples,
      rows: [
        row("sse", {
          id: "one-client",
          scenario: `events/s to one client: replay of a finished ${large}-event stream (median of ${reads})`,
          ours: med.oneClient,
          unit: "events/s",
          limit: { label: bare, value: med.bareOneClient },
          target: { on: "ratio", op: ">=", value: 0.5 },
        }),
        row("sse", {
          id: "streams.time",
          scenario: `${config.streams} concurrent streams × ${config.eventsPerStream} events: wall time`,
          ours: med.streamsMs,
          unit: "ms",
          limit: { label: bare, value: med.bareStreamsMs },
          target: { on: "ratio", op: "<=", value: 1.5 },
        }),
        row("sse", {
          id: "streams.rss",
          scenario: `${config.streams} concurrent streams: server RSS growth (peak − before)`,
          ours: med.streamsRssMb,
          unit: "MB",
          limit: { label: bare, value: med.bareStreamsRssMb },
          target: { on: "ratio", op: "<=", value: 1.5 },
        }),
      ],
    };
  },
};
