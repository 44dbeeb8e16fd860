import { ShuttingDownError, type Taskflow } from "@taskwire/core";
import express, { type Express } from "express";
import type { Logger } from "pino";
import { type LimitsOptions, SseBridge } from "../bridge/sse-bridge";
import { RouteNotFoundError } from "../http-errors/errors";
import { sendHttpError, taskwireErrorHandler } from "../http-errors/to-http-error";
import type { ResolveUser } from "../identity/resolve-user";
import { MOUNT, PLUGIN_NAME_PATTERN, type Plugin } from "../plugin/plugin";
import { createTaskRouter, type TaskRouterOptions } from "../router/task-router";
import type { SseOptions } from "../sse/stream-task-events";

/** Options of {@link createTaskwireApp}. */
export interface TaskwireAppOptions {
  taskflow: Taskflow;
  /** Mounted at `<basePath>/<plugin.name>` after their `setup()`. @default [] */
  plugins?: readonly Plugin[];
  /** Where the task router, the plugins and the JSON 404 live. @default "/api" */
  basePath?: string;
  /** Resolves a request's user; `undefined` is a 401. @default defaultResolveUser (trusted-proxy headers) */
  resolveUser?: ResolveUser;
  /** SSE tuning (heartbeat, retry, buffer cap, disconnect grace). */
  sse?: SseOptions;
  /** Per-owner limits (429 with `Retry-After`). */
  limits?: LimitsOptions;
  /** Options of the task router (`expose`, `cancelOnDisconnect`). */
  router?: TaskRouterOptions;
  /** Mask internal error messages. @default NODE_ENV === "production" */
  production?: boolean;
  /** An app to mount into. @default a new express() */
  app?: Express;
  /** Largest JSON body under `basePath`; larger ones get 413. @default "100kb" */
  bodyLimit?: number | string;
  /** @default taskflow.logger.child({ component: "express" }) */
  logger?: Logger;
}

/** A mounted Taskwire app. */
export interface TaskwireApp {
  /** The express app: plugins, the task router, the JSON 404 under `basePath`, and the error handler. */
  readonly app: Express;
  readonly bridge: SseBridge;
  readonly taskflow: Taskflow;
  readonly plugins: readonly Plugin[];
  readonly basePath: string;
  /**
   * Graceful close (idempotent): refuse new requests under `basePath` (503), end every open stream with
   * `interrupted` `server_shutting_down`, call the plugins' `shutdown()`, then `taskflow.shutdown()`.
   */
  close(): Promise<void>;
}

const RESERVED_PLUGIN_NAMES = new Set(["tasks"]);

/**
 * Builds the express app: JSON body parsing with a size limit, each plugin (`setup()` then
 * `injectRoutes()`) under `<basePath>/<name>`, the task router under `basePath`, a JSON 404 scoped to
 * `basePath` (static files added later still work), and the JSON error handler. The server is yours:
 * `handleClientError(server)` gives malformed HTTP the same JSON errors, `installGracefulShutdown` a clean exit.
 * @example
 * const taskflow = await createTaskflow({ store: sqliteStore() });
 * const tw = await createTaskwireApp({ taskflow, plugins: [new ReportsPlugin()], basePath: "/api" });
 * tw.app.use(express.static("public"));
 * const server = handleClientError(tw.app.listen(3000));
 * installGracefulShutdown(server, tw);
 */
export async function createTaskwireApp(options: TaskwireAppOptions): Promise<TaskwireApp> {
  const basePath = normalizeBasePath(options.basePath ?? "/api");
  const bridge = new SseBridge({
    taskflow: options.taskflow,
    resolveUser: options.resolveUser,
    sse: options.sse,
    limits: options.limits,
    production: options.production,
    logger: options.logger,
  });
  const { logger, production } = bridge;
  const plugins = [...(options.plugins ?? [])];
  const names = new Set<string>();
  for (const plugin of plugins) {
    if (
      typeof plugin.name !== "string" ||
      !PLUGIN_NAME_PATTERN.test(plugin.name) ||
      RESERVED_PLUGIN_NAMES.has(plugin.name)
    )
      throw new TypeError(
        `Plugin name ${JSON.stringify(plugin.name)} is invalid or reserved (use e.g. "reports").`,
      );
    if (names.has(plugin.name)) throw new TypeError(`Two plugins are named "${plugin.name}".`);
    names.add(plugin.name);
  }

  const app = options.app ?? express();
  if (!options.app) app.disable("x-powered-by");
  const scope = basePath === "" ? "/" : basePath;
  app.use(scope, (_req, res, next) => {
    if (bridge.closing) sendHttpError(res, new ShuttingDownError(), { production, logger });
    else next();
  });
  app.use(scope, express.json({ limit: options.bodyLimit ?? "100kb", strict: false }));

  for (const plugin of plugins) {
    plugin[MOUNT](bridge);
    await plugin.setup();
    const router = express.Router();
    plugin.injectRoutes(router);
    app.use(`${basePath}/${plugin.name}`, router);
    logger.debug({ event: "plugin.mounted", plugin: plugin.name }, "plugin mounted");
  }
  app.use(scope, createTaskRouter(bridge, options.router));
  // Only under the base path: files served by middleware added after this call must still be reachable.
  if (basePath !== "")
    app.use(basePath, (req, _res, next) =>
      next(new RouteNotFoundError(req.method, req.originalUrl.split("?")[0] ?? "")),
    );
  app.use(taskwireErrorHandler({ production, logger }));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info({ event: "server.shutdown_started" }, "Taskwire shutting down");
      await bridge.close();
      for (const plugin of [...plugins].reverse()) {
        try {
          await plugin.shutdown();
        } catch (error) {
          logger.error(
            { event: "plugin.shutdown_failed", plugin: plugin.name, err: error },
            "plugin shutdown failed",
          );
        }
      }
      await options.taskflow.shutdown();
      logger.info({ event: "server.shutdown_completed" }, "Taskwire shut down");
    })();
    return closing;
  };
  return { app, bridge, taskflow: options.taskflow, plugins, basePath, close };
}

function normalizeBasePath(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  if (!trimmed.startsWith("/"))
    throw new TypeError(`basePath must start with "/", got ${JSON.stringify(path)}.`);
  return trimmed;
}
