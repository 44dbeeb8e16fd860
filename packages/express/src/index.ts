/**
 * `@taskwire/express`: what an app or plugin author uses — `createTaskwireApp`, the `Plugin` base class
 * with `asUser` and `executeTask`, the task router, JSON errors, identity resolution, SSE writers and
 * graceful shutdown. Everything else (frame validation, cursors, the stream loop) is internal.
 */

/** Answer malformed HTTP (rejected by Node's parser) with the JSON error shape. */
export { type ClientErrorOptions, handleClientError } from "./app/client-error";
/** Build the express app (plugins, task router, JSON errors) and close it gracefully. */
export {
  createTaskwireApp,
  type TaskwireApp,
  type TaskwireAppOptions,
} from "./app/create-taskwire-app";
/** Close the app and the server on SIGTERM/SIGINT. */
export {
  type GracefulShutdownHandle,
  type GracefulShutdownOptions,
  installGracefulShutdown,
} from "./app/graceful-shutdown";
/** Settings and result of `executeTask`. */
export type { ExecuteTaskResult, ExecuteTaskSettings } from "./bridge/execute-task";
/** The per-process SSE bridge behind the router and the plugins (`tw.bridge`). */
export {
  type BridgeStreamOptions,
  createSseBridge,
  type LimitsOptions,
  type SseBridge,
  type SseBridgeOptions,
} from "./bridge/sse-bridge";
/** HTTP errors an app or plugin throws (each maps to a status in `toHttpError`). */
export { BadRequestError, ForbiddenError, UnauthenticatedError } from "./http-errors/errors";
/** The one error → HTTP status mapping, and the JSON error middleware. */
export {
  type HttpError,
  type HttpErrorBody,
  type HttpErrorOptions,
  taskwireErrorHandler,
  toHttpError,
} from "./http-errors/to-http-error";
/** Request → user resolution (trusted-proxy headers by default). */
export { defaultResolveUser, type ResolveUser, requireUser } from "./identity/resolve-user";
/** The plugin base class and its user-scoped proxy type. */
export { Plugin, type TaskInputArg, type UserScoped } from "./plugin/plugin";
/** The `GET /tasks` page cursor (opaque base64url of `[createdAtMs, taskId]`), for other list routes. */
export { decodeCursor, encodeCursor } from "./router/list-route";
/** A task snapshot as the HTTP API answers it (for routers of your own, such as an inspector). */
export { publicSnapshot } from "./router/public-snapshot";
/** The task HTTP API. */
export { createTaskRouter, type TaskRouterOptions } from "./router/task-router";
/** SSE writers for hand-written streams (every frame carries an id, an event name and JSON data). */
export { formatSseFrame, type SseFrame, writeSseComment, writeSseFrame } from "./sse/frames";
export { setupSseHeaders } from "./sse/headers";
/** SSE tuning and how a stream ended. */
export type { InterruptCode, SseOptions, StreamOutcome, StreamResult } from "./sse/stream-task-events";
