import { join } from "node:path";
import { ErrorCode, ShuttingDownError, TaskNotFoundError, TaskwireError } from "@taskwire/core";
import { type SseBridge, taskwireErrorHandler } from "@taskwire/express";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { type Access, type AuthorizeInspector, authorizeRequest } from "./access/inspector-grant";
import { listTasks } from "./api/list-tasks";
import { requireInspectorHeader } from "./api/require-inspector-header";
import { taskDetail } from "./api/task-detail";
import { taskView } from "./api/task-view";
import { PUBLIC_DIR } from "./public-dir";

/** Options of {@link createInspector}. */
export interface InspectorOptions {
  /** The Taskwire app to inspect (`createTaskwireApp`'s result); or pass its `bridge`. */
  tw?: { readonly bridge: SseBridge };
  /** The app's SSE bridge (`tw.bridge`), when there is no `tw`. Its taskflow is the one inspected. */
  bridge?: SseBridge;
  /** Decides who may use the inspector and what they see; runs for every request. */
  authorize: AuthorizeInspector;
  /** How often the page refreshes the task list, in ms (paused while the tab is hidden). @default 1500 */
  refreshMs?: number;
  /** Levels of child tasks shown in a task's tree. @default 3 */
  childDepth?: number;
  /** Largest JSON body of an action (a signal payload). @default "64kb" */
  bodyLimit?: number | string;
}

/** Headers of every inspector response: the page runs only its own scripts and is never framed. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
};

type Handler = (req: Request, res: Response, access: Access) => Promise<void>;

/**
 * The live task inspector as an express router to mount where you like (it is off unless mounted). Every
 * request — the page, its assets and its JSON API — first goes through `authorize(req)`: no grant is a
 * 401, `false` a 403, both JSON without task data. Reads and actions run under the grant (an owner grant
 * as that user, so another owner's task is a 404), the live events are the app's own SSE stream
 * (`bridge.stream`), and actions (POST) need the `X-Taskwire-Inspector: 1` header (CSRF).
 * @example
 * const tw = await createTaskwireApp({ taskflow, plugins, basePath: "/api" });
 * tw.app.use("/inspector", createInspector({ tw, authorize: (req) => {
 *   const user = resolveSessionUser(req);
 *   return user ? { owner: user.id } : null;
 * } }));
 */
export function createInspector(options: InspectorOptions): Router {
  const bridge = options.bridge ?? options.tw?.bridge;
  if (!bridge) throw new TypeError("createInspector needs `tw` (createTaskwireApp's result) or `bridge`.");
  if (typeof options.authorize !== "function")
    throw new TypeError("createInspector needs an `authorize(req)` hook; the inspector has no default.");
  const { taskflow, production, logger } = bridge;
  const refreshMs = options.refreshMs ?? 1500;
  const childDepth = options.childDepth ?? 3;
  const grants = new WeakMap<Request, Access>();
  const router = express.Router();

  router.use((req, res, next) => {
    res.set(SECURITY_HEADERS);
    if (bridge.closing) return next(new ShuttingDownError());
    authorizeRequest(options.authorize, req).then((access) => {
      grants.set(req, access);
      next();
    }, next);
  });

  /** Runs the handler under the request's grant (set by the middleware above). */
  const granted =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      const access = grants.get(req);
      if (!access) throw new TypeError("inspector request without a grant");
      await access.run(() => handler(req, res, access));
    };
  const view = (access: Access) => ({ production, showOwners: access.showOwners });
  const sendJson = (res: Response, status: number, body: unknown) =>
    res.status(status).set("Cache-Control", "no-store").json(body);

  router.get("/", (req, res) => {
    // The page's URLs are relative: `/inspector` must become `/inspector/`.
    const [path, query] = splitUrl(req.originalUrl);
    if (!path.endsWith("/")) return res.redirect(308, `${path}/${query}`);
    res.set("Cache-Control", "no-store").sendFile(join(PUBLIC_DIR, "index.html"));
  });
  router.use(express.static(PUBLIC_DIR, { index: false, redirect: false, dotfiles: "deny" }));

  router.get(
    "/api/me",
    granted(async (_req, res, access) => {
      const scope = "all" in access.grant ? { scope: "all" } : { scope: "owner", owner: access.grant.owner };
      sendJson(res, 200, { ...scope, showOwners: access.showOwners, refreshMs });
    }),
  );

  router.get(
    "/api/tasks",
    granted(async (req, res, access) => {
      sendJson(res, 200, await listTasks(taskflow, req.query, view(access)));
    }),
  );

  router.get(
    "/api/tasks/:taskId",
    granted(async (req, res, access) => {
      sendJson(res, 200, await taskDetail(taskflow, param(req, "taskId"), { ...view(access), childDepth }));
    }),
  );

  router.get(
    "/api/tasks/:taskId/events",
    granted(async (req, res) => {
      // The app's own stream under the grant: replay, live, Last-Event-ID and 204 behave exactly alike.
      await bridge.stream(req, res, param(req, "taskId"));
    }),
  );

  // Actions: the CSRF header is checked before the body is read.
  const action = [
    requireInspectorHeader,
    express.json({ limit: options.bodyLimit ?? "64kb", strict: false }),
  ];
  router.post(
    "/api/tasks/:taskId/cancel",
    ...action,
    granted(async (req, res) => {
      const result = await taskflow.cancel(param(req, "taskId"));
      if (result.outcome === "not_found") throw new TaskNotFoundError(result.taskId);
      sendJson(res, 202, { taskId: result.taskId, status: result.status, outcome: result.outcome });
    }),
  );
  router.post(
    "/api/tasks/:taskId/retry",
    ...action,
    granted(async (req, res, access) => {
      sendJson(res, 202, taskView(await taskflow.retry(param(req, "taskId")), view(access)));
    }),
  );
  router.post(
    "/api/tasks/:taskId/signals/:name",
    ...action,
    granted(async (req, res) => {
      // Owner check (404), declared name (400), payload schema (400 naming the field), finished (409): core.
      const result = await taskflow.signal(param(req, "taskId"), param(req, "name"), req.body);
      sendJson(res, 202, {
        taskId: result.taskId,
        name: result.name,
        index: result.index,
        duplicate: result.duplicate,
      });
    }),
  );

  router.use((req: Request, _res: Response, next: NextFunction) => {
    const [path] = splitUrl(req.originalUrl);
    next(new TaskwireError(ErrorCode.NOT_FOUND, `No route for ${req.method} ${path}.`));
  });
  router.use(taskwireErrorHandler({ production, logger }));
  logger.debug({ event: "inspector.router_created" }, "task inspector router created");
  return router;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === "string" ? value : "";
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf("?");
  return at < 0 ? [url, ""] : [url.slice(0, at), url.slice(at)];
}
