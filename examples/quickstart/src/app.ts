import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Clock, createTaskflow, type StartRate, type TaskStore } from "@taskwire/core";
import { type PrometheusMetrics, prometheusMetrics } from "@taskwire/core/prometheus";
import { createTaskwireApp, type TaskwireApp } from "@taskwire/express";
import { createInspector } from "@taskwire/inspector";
import { sqliteStore } from "@taskwire/sqlite";
import express from "express";
import type { Logger } from "pino";
import { resolveDemoUser, sessionRouter } from "./demo-session";
import { ReportsPlugin } from "./reports-plugin";

const here = dirname(fileURLToPath(import.meta.url));

/** The quickstart's per-user start rate. */
export const DEFAULT_START_RATE: StartRate = Object.freeze({ burst: 10, perSecond: 1 });

/** Settings of the quickstart app (the server reads them from the environment). */
export interface QuickstartOptions {
  /** SQLite file. @default ".taskwire/quickstart.db" */
  dbPath?: string;
  /** PostgreSQL connection string; switches the store to PostgreSQL. */
  pgUrl?: string;
  /** PostgreSQL schema of the tables (tests isolate nodes per schema). @default "taskwire" */
  pgSchema?: string;
  /** Lease length. @default 10000 (short, so a killed server's tasks resume soon after a restart) */
  leaseMs?: number;
  /** A store to use instead (tests). */
  store?: TaskStore;
  /**
   * Starts per signed-in user: a token bucket kept in the store (so it holds across nodes); over it a
   * start is a 429 with `Retry-After`. `false` turns it off. @default { burst: 10, perSecond: 1 }
   */
  startRate?: StartRate | false;
  /** The engine clock (tests drive the start rate with a fake one). @default systemClock */
  clock?: Clock;
  logger?: Logger;
}

/**
 * Reads `TASKWIRE_START_RATE`: `"<burst>/<perSecond>"` (e.g. `"10/1"`), `"off"`, or unset (the default).
 * @example parseStartRate("20/2") // { burst: 20, perSecond: 2 }
 */
export function parseStartRate(text: string | undefined): StartRate | false | undefined {
  if (text === undefined || text === "") return undefined;
  if (text === "off") return false;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (!match) throw new Error(`TASKWIRE_START_RATE must be "<burst>/<perSecond>" or "off", not "${text}".`);
  return { burst: Number(match[1]), perSecond: Number(match[2]) };
}

/**
 * Builds the quickstart: static page, demo sign-in, the reports plugin, the task router at /api, the
 * inspector at /inspector, Prometheus metrics at /metrics.
 */
export async function createQuickstart(
  options: QuickstartOptions = {},
): Promise<{ app: express.Express; tw: TaskwireApp; metrics: PrometheusMetrics }> {
  const store = options.store ?? (await chooseStore(options));
  const metrics = prometheusMetrics();
  const taskflow = await createTaskflow({
    store,
    metrics,
    leaseMs: options.leaseMs ?? 10_000,
    logger: options.logger,
    pollIntervalMs: 250,
    clock: options.clock,
    // Ten quick starts at once, then one a second per user: a script hammering the start route gets 429s.
    limits: options.startRate === false ? undefined : { startRate: options.startRate ?? DEFAULT_START_RATE },
  });
  const app = express();
  app.disable("x-powered-by");
  app.use(express.static(join(here, "..", "public")));
  // Prometheus text exposition. Open here for the demo: a real app serves it on an internal port or behind
  // its own auth (it names tasks and shows load, though never ids, owners or payloads).
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The page imports eventsource-parser's ESM build directly: no bundler, no build step.
  const parserPath = eventsourceParserEsm();
  app.get("/vendor/eventsource-parser.js", (_req, res) => res.type("text/javascript").sendFile(parserPath));
  app.use("/api/session", sessionRouter());
  const tw = await createTaskwireApp({
    app,
    taskflow,
    plugins: [new ReportsPlugin()],
    basePath: "/api",
    resolveUser: resolveDemoUser,
    logger: options.logger,
  });
  // The task inspector: any signed-in demo user, scoped to their own tasks; nobody signed in is a 401.
  app.use(
    "/inspector",
    createInspector({
      tw,
      authorize: (req) => {
        const user = resolveDemoUser(req);
        return user ? { owner: user.userId } : null;
      },
    }),
  );
  return { app, tw, metrics };
}

/** eventsource-parser's ESM build (require.resolve finds the CommonJS one beside it). */
function eventsourceParserEsm(): string {
  const cjs = createRequire(import.meta.url).resolve("eventsource-parser");
  const esm = join(dirname(cjs), "index.js");
  if (!existsSync(esm)) throw new Error(`eventsource-parser's ESM build was not found at ${esm}`);
  return esm;
}

async function chooseStore(options: QuickstartOptions): Promise<TaskStore> {
  if (options.pgUrl) {
    // Loaded only when asked for, so the SQLite quickstart never needs pg.
    const { postgresStore } = await import("@taskwire/postgres");
    return postgresStore({
      connectionString: options.pgUrl,
      schema: options.pgSchema,
      logger: options.logger,
    });
  }
  return sqliteStore({ path: options.dbPath ?? ".taskwire/quickstart.db" });
}
