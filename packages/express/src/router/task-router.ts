import { runInUserContext, TaskNotFoundError, UnknownTaskError } from "@taskwire/core";
import express, { type Request, type Response, type Router } from "express";
import { debounceFromHeaders } from "../bridge/debounce-headers";
import { executeTask } from "../bridge/execute-task";
import { validateIdempotencyKey } from "../bridge/idempotency-key";
import type { SseBridge } from "../bridge/sse-bridge";
import { traceCarrierOf } from "../bridge/trace-headers";
import { sendHttpError } from "../http-errors/to-http-error";
import { listTasksRoute } from "./list-route";
import { publicSnapshot } from "./public-snapshot";

/** Options of {@link createTaskRouter}. */
export interface TaskRouterOptions {
  /**
   * Which registered tasks `POST /tasks/:name` may start; others answer 404 like unknown names.
   * @default every registered task
   */
  expose?: readonly string[] | ((taskName: string) => boolean);
  /** Cancel a task started with `Accept: text/event-stream` when its client is gone. @default true */
  cancelOnDisconnect?: boolean;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * The task HTTP API (SPEC 5), to mount under a base path: `GET /tasks`, `POST /tasks/:name`,
 * `GET /tasks/:taskId`, `GET /tasks/:taskId/events`, `POST /tasks/:taskId/cancel`,
 * `POST /tasks/:taskId/signals/:name`, `POST /tasks/:taskId/retry`. A start may be debounced with the
 * `Debounce-Key` and `Debounce-Period-Ms` (and `Debounce-Max-Wait-Ms`) headers. Every route needs a resolved user (401) and runs as that user, so tasks
 * of other owners answer 404. Errors are answered as Taskwire JSON by the router itself. Expects
 * `req.body` parsed by `express.json({ strict: false })` (as `createTaskwireApp` sets up).
 * @example app.use("/api", express.json(), createTaskRouter(bridge));
 */
export function createTaskRouter(bridge: SseBridge, options: TaskRouterOptions = {}): Router {
  const router = express.Router();
  const exposed = toPredicate(options.expose);

  /** Resolves the user, then runs the handler in their context; every error becomes JSON. */
  const asUser =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        const user = await bridge.resolveUser(req);
        await runInUserContext(user, () => handler(req, res));
      } catch (error) {
        sendHttpError(res, error, { production: bridge.production, logger: bridge.logger });
      }
    };

  router.get(
    "/tasks",
    asUser((req, res) => listTasksRoute(bridge.taskflow, bridge.production, req, res)),
  );

  router.post(
    "/tasks/:name",
    asUser(async (req, res) => {
      const name = param(req, "name");
      if (!bridge.taskflow.hasTask(name) || !exposed(name)) throw new UnknownTaskError(name);
      // Checked by bridge.start, the one rule shared with executeTask (an empty header is a 400 too).
      const idempotencyKey = req.get("Idempotency-Key");
      // Debounce-Key / Debounce-Period-Ms / Debounce-Max-Wait-Ms (400 naming the header when malformed).
      const debounce = debounceFromHeaders(req);
      const { ref } = bridge.taskflow.getRegistration(name);
      if (req.accepts(["application/json", "text/event-stream"]) === "text/event-stream") {
        // executeTask answers its own errors; the current user context is the caller's.
        await executeTask(bridge, {
          res,
          task: ref,
          input: req.body,
          settings: { idempotencyKey, debounce, cancelOnDisconnect: options.cancelOnDisconnect ?? true },
        });
        return;
      }
      const trace = traceCarrierOf(req);
      const { taskId, created } = await bridge.start(ref, req.body, { idempotencyKey, debounce, trace });
      const location = `${req.baseUrl}/tasks/${encodeURIComponent(taskId)}`;
      res
        .status(202)
        .location(location)
        .json({ taskId, created, eventsUrl: `${location}/events` });
    }),
  );

  router.get(
    "/tasks/:taskId",
    asUser(async (req, res) => {
      const snapshot = await bridge.taskflow.get(param(req, "taskId"));
      res.status(200).set("Cache-Control", "no-store").json(publicSnapshot(snapshot, bridge.production));
    }),
  );

  router.get(
    "/tasks/:taskId/events",
    asUser(async (req, res) => {
      await bridge.stream(req, res, param(req, "taskId"));
    }),
  );

  router.post(
    "/tasks/:taskId/cancel",
    asUser(async (req, res) => {
      const result = await bridge.taskflow.cancel(param(req, "taskId"));
      // Deleted between the owner check and the request (retention): as gone as any unknown task.
      if (result.outcome === "not_found") throw new TaskNotFoundError(result.taskId);
      res.status(202).json({ taskId: result.taskId, status: result.status, outcome: result.outcome });
    }),
  );

  router.post(
    "/tasks/:taskId/signals/:name",
    asUser(async (req, res) => {
      // The one Idempotency-Key rule of starts; checked before anything is delivered.
      const idempotencyKey = req.get("Idempotency-Key");
      validateIdempotencyKey(idempotencyKey);
      // Owner check, declared name (400), payload schema (400), finished task (409) live in core.
      const result = await bridge.taskflow.signal(
        param(req, "taskId"),
        param(req, "name"),
        req.body,
        idempotencyKey === undefined ? {} : { idempotencyKey },
      );
      res.status(202).json({
        taskId: result.taskId,
        name: result.name,
        index: result.index,
        duplicate: result.duplicate,
      });
    }),
  );

  router.post(
    "/tasks/:taskId/retry",
    asUser(async (req, res) => {
      // 409 NOT_RESUMABLE (with the current status in details) for a task that is not failed.
      const snapshot = await bridge.taskflow.retry(param(req, "taskId"));
      res.status(202).set("Cache-Control", "no-store").json(publicSnapshot(snapshot, bridge.production));
    }),
  );

  return router;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === "string" ? value : "";
}

function toPredicate(expose: TaskRouterOptions["expose"]): (name: string) => boolean {
  if (expose === undefined) return () => true;
  if (typeof expose === "function") return expose;
  const names = new Set(expose);
  return (name) => names.has(name);
}
