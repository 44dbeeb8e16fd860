/**
 * `@taskwire/express`: the SSE bridge (`executeTask`, the replay endpoint, SSE writers), the `Plugin`
 * base class with `asUser`, the task HTTP router, JSON error mapping and graceful shutdown.
 */

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
/** The per-process SSE bridge behind the router and the plugins. */
export {
  type BridgeStreamOptions,
  createSseBridge,
  type LimitsOptions,
  SseBridge,
  type SseBridgeOptions,
} from "./bridge/sse-bridge";
/** HTTP-level errors (each maps to a status in `toHttpError`). */
export {
  BadRequestError,
  InvalidJsonError,
  PayloadTooLargeError,
  RouteNotFoundError,
  UnauthenticatedError,
} from "./http-errors/errors";
/** The one error → HTTP status mapping, and the JSON error responders. */
export {
  type HttpError,
  type HttpErrorBody,
  type HttpErrorOptions,
  INTERNAL_MESSAGE,
  sendHttpError,
  taskwireErrorHandler,
  toHttpError,
} from "./http-errors/to-http-error";
/** Request → user resolution (trusted-proxy headers by default). */
export { defaultResolveUser, type ResolveUser, requireUser } from "./identity/resolve-user";
/** The plugin base class and its user-scoped proxy type. */
export { Plugin, type PluginLifecycleKey, type TaskInputArg, type UserScoped } from "./plugin/plugin";
/** JSON-safe conversion (BigInt → string, Date → ISO). */
export { toJsonSafe } from "./router/json-safe";
/** The task HTTP API and its JSON snapshot shape. */
export { createTaskRouter, publicSnapshot, type TaskRouterOptions } from "./router/task-router";
/** SSE frame writers. */
export {
  BRIDGE_EVENT_NAMES,
  type BridgeEventName,
  formatSseFrame,
  isWireEventName,
  type SseFrame,
  type SseFrameFormatOptions,
  toSseJson,
  writeSseComment,
  writeSseFrame,
} from "./sse/frames";
/** SSE response headers. */
export { SSE_HEADERS, setupSseHeaders } from "./sse/headers";
/** `Last-Event-ID` parsing. */
export { parseLastEventId, resolveResumeCursor } from "./sse/last-event-id";
/** The stream loop: ready, replay + live from one cursor, terminal, interrupted. */
export {
  type InterruptCode,
  SSE_DEFAULTS,
  type SseOptions,
  type StreamOutcome,
  type StreamResult,
  type StreamTaskEventsOptions,
  streamTaskEvents,
} from "./sse/stream-task-events";
