import type { ServerResponse } from "node:http";
import { ErrorCode, isTaskwireError } from "@taskwire/core";
import type { ErrorRequestHandler } from "express";
import type { Logger } from "pino";
import { jsonReplacer } from "../sse/frames";
import { BadRequestError, InvalidJsonError, PayloadTooLargeError } from "./errors";

/** The JSON error body: `{ "error": { "code", "message", "details"? } }`. */
export interface HttpErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** An error translated for HTTP. */
export interface HttpError {
  status: number;
  body: HttpErrorBody;
  /** Extra response headers (`Retry-After` for 429). */
  headers: Record<string, string>;
  /** Whether this is a server-side failure (5xx): its detail belongs in the log, not the response. */
  internal: boolean;
}

/**
 * Error code → HTTP status: the only place in Taskwire that knows HTTP statuses. `CHILD_FAILED` and
 * `SIGNAL_TIMEOUT` are absent on purpose: they end a task (inside its `failed` event), never a request.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.VALIDATION_ERROR]: 400,
  [ErrorCode.INVALID_JSON]: 400,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.REAUTH_REQUIRED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.TASK_NOT_FOUND]: 404,
  [ErrorCode.UNKNOWN_TASK]: 404,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.IDEMPOTENCY_CONFLICT]: 409,
  [ErrorCode.TASK_FINISHED]: 409,
  [ErrorCode.NOT_RESUMABLE]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.BACKPRESSURE]: 429,
  [ErrorCode.SHUTTING_DOWN]: 503,
};

/** The masked message of every internal error in production. */
export const INTERNAL_MESSAGE = "Internal error";

/**
 * Maps any thrown value to an HTTP status and JSON body. Taskwire errors keep their code and message
 * (they never carry secrets); body-parser errors become 400 `INVALID_JSON` / 413 `PAYLOAD_TOO_LARGE`;
 * everything else is a 500 `INTERNAL` whose message is masked as "Internal error" when `production`.
 * Never includes a stack.
 * @example toHttpError(new TaskNotFoundError("t1"), true).status // 404
 */
export function toHttpError(error: unknown, production: boolean): HttpError {
  const translated = fromExpressError(error) ?? error;
  if (isTaskwireError(translated)) {
    const status = STATUS_BY_CODE[translated.code];
    if (status !== undefined) {
      const body: HttpErrorBody = { error: { code: translated.code, message: translated.message } };
      const details = publicDetails(translated.code, translated.details);
      if (details !== undefined) body.error.details = details;
      const headers: Record<string, string> = {};
      if (status === 429) headers["Retry-After"] = String(retryAfterSeconds(translated.details));
      if (status === 503) headers["Retry-After"] = "1";
      return { status, body, headers, internal: false };
    }
    if (translated.code === ErrorCode.INTERNAL || production) return internalError(translated, production);
    return {
      status: 500,
      body: { error: { code: translated.code, message: translated.message } },
      headers: {},
      internal: true,
    };
  }
  return internalError(translated, production);
}

function internalError(error: unknown, production: boolean): HttpError {
  const message = !production && error instanceof Error && error.message ? error.message : INTERNAL_MESSAGE;
  return { status: 500, body: { error: { code: ErrorCode.INTERNAL, message } }, headers: {}, internal: true };
}

/** body-parser and http-errors carry `type`/`status`; turn the client errors into Taskwire errors. */
function fromExpressError(error: unknown): unknown {
  if (typeof error !== "object" || error === null || isTaskwireError(error)) return undefined;
  // Express's router throws a URIError with status 400 (but no `expose`) for a path parameter with
  // malformed percent-encoding (`%zz`, `%FF`): bad input, not a server failure. A bare URIError from
  // server code has no status and stays internal.
  if (error instanceof URIError && (error as { status?: unknown }).status === 400)
    return new BadRequestError("The request path is not valid percent-encoding.", {
      reason: "uri.malformed",
    });
  const e = error as {
    type?: unknown;
    status?: unknown;
    statusCode?: unknown;
    expose?: unknown;
    limit?: unknown;
  };
  if (e.type === "entity.parse.failed") return new InvalidJsonError(error);
  if (e.type === "entity.too.large")
    return new PayloadTooLargeError(typeof e.limit === "number" ? e.limit : undefined, error);
  const status = typeof e.status === "number" ? e.status : e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500 && e.expose === true) {
    if (status === 413) return new PayloadTooLargeError(undefined, error);
    return new BadRequestError("The request is malformed.", { reason: String(e.type ?? status) });
  }
  return undefined;
}

function publicDetails(code: string, details: Record<string, unknown> | undefined) {
  if (details === undefined) return undefined;
  if (code === ErrorCode.BACKPRESSURE) {
    // The limit's name tells a client which limit to back off from; nothing else of the error leaves.
    return typeof details.limit === "string"
      ? { retryAfterMs: details.retryAfterMs, limit: details.limit }
      : { retryAfterMs: details.retryAfterMs };
  }
  return JSON.parse(JSON.stringify(details, jsonReplacer)) as Record<string, unknown>;
}

function retryAfterSeconds(details: Record<string, unknown> | undefined): number {
  const ms = typeof details?.retryAfterMs === "number" ? details.retryAfterMs : 1000;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Options of {@link sendHttpError} and {@link taskwireErrorHandler}. */
export interface HttpErrorOptions {
  production: boolean;
  logger: Logger;
}

/**
 * Answers a request with {@link toHttpError}'s JSON; logs 5xx with their detail (never to the client).
 * When the headers are already out (a started stream) it can only end the response.
 */
export function sendHttpError(res: ServerResponse, error: unknown, options: HttpErrorOptions): HttpError {
  const http = toHttpError(error, options.production);
  if (http.internal) {
    options.logger.error({ event: "http.request_failed", status: http.status, err: error }, "request failed");
  } else {
    options.logger.debug(
      { event: "http.request_rejected", status: http.status, code: http.body.error.code },
      "request rejected",
    );
  }
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return http;
  }
  const body = JSON.stringify(http.body);
  res.statusCode = http.status;
  for (const [name, value] of Object.entries(http.headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-store");
  res.end(body);
  return http;
}

/**
 * Express error middleware answering every error as Taskwire JSON (see {@link toHttpError}).
 * @example app.use(taskwireErrorHandler({ production: true, logger }));
 */
export function taskwireErrorHandler(options: HttpErrorOptions): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    sendHttpError(res, error, options);
  };
}

/**
 * A task's recorded error as clients may see it, `{ code, message }`: in production the message of an
 * `internal` error (anything that is not a Taskwire error, whatever its code) is masked; Taskwire errors
 * (`NonRetriableError`, validation, timeouts) keep theirs. The WAL and the logs keep the full message.
 */
export function publicTaskError(
  error: { code: string; message: string; internal?: boolean },
  production: boolean,
): { code: string; message: string } {
  return { code: error.code, message: production && error.internal ? INTERNAL_MESSAGE : error.message };
}
