/**
 * A server process of the SSE scenarios, so its memory is measured apart from the clients': either
 * Taskwire (`createTaskwireApp` over `sqliteStore({ path })`, after running one `bench.ticks` task per
 * entry of `counts`) or the bare `node:http` SSE server serving captured frames. Its one argument is a
 * JSON {@link ServerChildConfig}; it prints one JSON line `{ port, taskIds }` when listening and runs
 * until killed. `GET /__bench/mark` records the RSS and starts sampling its peak every 2 ms;
 * `GET /__bench/peak` answers `{ baseline, peak }` in bytes.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTaskflow } from "@taskwire/core";
import { createTaskwireApp } from "@taskwire/express";
import { postgresStore } from "@taskwire/postgres";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { noop3 } from "../noop3";
import { createBareSseServer } from "./bare-server";
import { prepareTicks, ticks } from "./ticks-task";

/** What the child serves. */
export type ServerChildConfig =
  /** `counts`: `bench.ticks` tasks to run first (empty: serve a file an earlier child prepared). */
  | { mode: "taskwire"; path: string; counts: number[] }
  | { mode: "bare"; framesFile: string }
  /** The start → completed latency server: `bench.noop3` and `GET /ping` on SQLite or PostgreSQL. */
  | { mode: "latency"; sqlitePath: string }
  | { mode: "latency"; pgUrl: string; pgSchema: string; pgPool: number };

/** Peak-RSS sampling between `mark` and `peak`. */
function rssProbe() {
  let baseline = 0;
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  return (url: string, res: ServerResponse): boolean => {
    if (url === "/__bench/mark") {
      clearInterval(timer);
      baseline = process.memoryUsage.rss();
      peak = baseline;
      timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 2);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      return true;
    }
    if (url === "/__bench/peak") {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ baseline, peak }));
      return true;
    }
    return false;
  };
}

// The bench holds our stdin open: when it dies (or ends us), stdin ends and so do we — no orphan server.
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();

/**
 * Listen backlog of both servers: 1,000 connections opened at once overflow Node's default (511), and a
 * dropped SYN is retried after a second, which would time the kernel's retransmit rather than the server.
 */
const BACKLOG = 4096;

const config = JSON.parse(process.argv[2] ?? "{}") as ServerChildConfig;
const probe = rssProbe();
let server: Server;
let taskIds: string[] = [];
if (config.mode === "taskwire") {
  const taskflow = await createTaskflow({
    store: sqliteStore({ path: config.path }),
    logger: pino({ level: "silent" }),
  });
  taskflow.task(ticks);
  taskIds = await prepareTicks(taskflow, config.counts);
  const tw = await createTaskwireApp({ taskflow, basePath: "/api", sse: { heartbeatMs: 60_000 } });
  tw.app.use((req, res, next) => {
    if (!probe(req.url, res)) next();
  });
  server = createServer(tw.app).listen(0, "127.0.0.1", BACKLOG);
} else if (config.mode === "latency") {
  const store =
    "sqlitePath" in config
      ? sqliteStore({ path: config.sqlitePath })
      : postgresStore({ connectionString: config.pgUrl, schema: config.pgSchema, max: config.pgPool });
  const taskflow = await createTaskflow({ store, logger: pino({ level: "silent" }) });
  taskflow.task(noop3);
  const tw = await createTaskwireApp({ taskflow, basePath: "/api", sse: { heartbeatMs: 60_000 } });
  tw.app.get("/ping", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  server = createServer(tw.app).listen(0, "127.0.0.1", BACKLOG);
} else {
  const streams = JSON.parse(readFileSync(config.framesFile, "utf8")) as Record<string, string[]>;
  server = createBareSseServer(streams, probe).listen(0, "127.0.0.1", BACKLOG);
}
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ port, taskIds })}\n`);
