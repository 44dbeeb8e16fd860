import type { IncomingMessage, ServerResponse } from "node:http";
import { isTerminalStatus, type Taskflow, type TaskSnapshot } from "@taskwire/core";
import type { Logger } from "pino";
import { formatSseFrame, writeSseComment, writeSseFrame } from "./frames";
import { setupSseHeaders } from "./headers";
import { resolveResumeCursor } from "./last-event-id";

/** Tuning of SSE streams; every field has a default. */
export interface SseOptions {
  /** Interval of the `: heartbeat` comment. @default 15000 */
  heartbeatMs?: number;
  /** The `retry:` reconnection delay sent with the `ready` frame. @default 2000 */
  retryMs?: number;
  /**
   * Bytes a stream may hold unsent (besides the frame being written) before the consumer counts as slow
   * and the stream is interrupted. Below it, a full buffer just waits for `drain`. Keep it above the
   * socket's high-water mark (16 KiB): a fast reader may briefly hold that much during a burst.
   * @default 1048576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * How long a full buffer may wait for `drain` before the stream is interrupted as `slow_consumer`,
   * and how long the final `interrupted` frame may take to flush before the socket is destroyed.
   * @default 10000
   */
  drainTimeoutMs?: number;
  /** Default grace of `executeTask`'s cancel-on-disconnect. @default 5000 */
  disconnectGraceMs?: number;
}

/** Options of {@link streamTaskEvents}. */
export interface StreamTaskEventsOptions extends Omit<SseOptions, "disconnectGraceMs"> {
  /** Resume after this seq instead of the request's `Last-Event-ID` / `?lastEventId=`. */
  afterSeq?: number;
  /** Aborting ends the stream with `interrupted` `server_shutting_down` (used by graceful shutdown). */
  signal?: AbortSignal;
  /** Mask internal error messages on the wire. @default NODE_ENV === "production" */
  production?: boolean;
  /** pino logger. @default taskflow.logger */
  logger?: Logger;
  /** Called once the stream is open (headers and `ready` written). */
  onOpen?: (snapshot: TaskSnapshot) => void;
}

/** Why a stream ended. */
export type StreamOutcome =
  /** A terminal frame was written and the response ended. */
  | "completed"
  /** Resumed at or past the terminal event: answered 204. */
  | "already_finished"
  /** The client went away. */
  | "disconnected"
  /** Ended early with an `interrupted` frame. */
  | "interrupted";

/** Codes of the `interrupted` frame. */
export type InterruptCode = "server_shutting_down" | "slow_consumer" | "internal";

/** What {@link streamTaskEvents} resolves to. */
export interface StreamResult {
  outcome: StreamOutcome;
  /** The last seq written to the response (the resume cursor when nothing was written). */
  lastSeq: number;
  /** Set when `outcome` is `interrupted`. */
  code?: InterruptCode;
}

const TERMINAL_EVENTS = new Set(["completed", "failed", "cancelled"]);

/** The effective defaults of {@link SseOptions}. */
export const SSE_DEFAULTS: Readonly<Required<SseOptions>> = Object.freeze({
  heartbeatMs: 15_000,
  retryMs: 2_000,
  maxBufferedBytes: 1_048_576,
  drainTimeoutMs: 10_000,
  disconnectGraceMs: 5_000,
});

const INTERRUPT_MESSAGES: Record<InterruptCode, string> = {
  server_shutting_down: "The server is shutting down; reconnect to resume.",
  slow_consumer: "The client read too slowly; reconnect to resume.",
  internal: "Internal error",
};

/**
 * Streams a task's WAL events over SSE: `ready` (id = cursor, with `retry:`), then replay and live
 * delivery from one cursor through `taskflow.subscribe` ("doorbell, then read the WAL"), one frame per
 * event with `id: <seq>`, until the terminal frame, which ends the response. Errors before the headers
 * (task not found, not owned) reject, so the caller can answer JSON; after the headers every early end
 * is an `interrupted` frame. Never rejects once the headers are sent.
 * @example
 * router.get("/tasks/:id/events", (req, res) =>
 *   runInUserContext(user, () => streamTaskEvents(req, res, taskflow, req.params.id)));
 */
export async function streamTaskEvents(
  req: IncomingMessage,
  res: ServerResponse,
  taskflow: Taskflow,
  taskId: string,
  options: StreamTaskEventsOptions = {},
): Promise<StreamResult> {
  const heartbeatMs = options.heartbeatMs ?? SSE_DEFAULTS.heartbeatMs;
  const maxBufferedBytes = options.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes;
  const drainTimeoutMs = options.drainTimeoutMs ?? SSE_DEFAULTS.drainTimeoutMs;
  const production = options.production ?? process.env.NODE_ENV === "production";
  const logger = options.logger ?? taskflow.logger;
  const cursor = options.afterSeq ?? resolveResumeCursor(req);

  // Watch the response, not the request: a POST's request emits 'close' once its body was read.
  let gone = res.destroyed || res.closed;
  const onResponseClose = () => {
    if (!res.writableFinished) gone = true;
  };
  res.on("close", onResponseClose);
  let snapshot: TaskSnapshot;
  try {
    snapshot = await taskflow.get(taskId);
  } catch (error) {
    res.off("close", onResponseClose);
    throw error;
  }
  if (gone) {
    res.off("close", onResponseClose);
    logger.debug({ event: "sse.client_disconnected", taskId, lastSeq: cursor }, "client left before open");
    return { outcome: "disconnected", lastSeq: cursor };
  }
  if (isTerminalStatus(snapshot.status) && cursor >= snapshot.lastSeq) {
    res.off("close", onResponseClose);
    // 204 makes a browser EventSource stop reconnecting for good.
    res.statusCode = 204;
    res.end();
    logger.debug({ event: "sse.stream_skipped", taskId, cursor }, "resume at or past the terminal event");
    return { outcome: "already_finished", lastSeq: cursor };
  }

  type Stop = "disconnected" | InterruptCode;
  let stop: Stop | undefined;
  const controller = new AbortController();
  const halt = (why: Stop) => {
    stop ??= why;
    controller.abort();
  };
  res.off("close", onResponseClose);
  const onClose = () => {
    if (!res.writableFinished) halt("disconnected");
  };
  const onShutdown = () => halt("server_shutting_down");
  res.on("close", onClose);
  options.signal?.addEventListener("abort", onShutdown);
  if (options.signal?.aborted) halt("server_shutting_down");

  setupSseHeaders(res);
  writeSseFrame(res, {
    id: cursor,
    event: "ready",
    data: { taskId: snapshot.taskId, task: snapshot.task, status: snapshot.status },
    retry: options.retryMs ?? SSE_DEFAULTS.retryMs,
  });
  logger.info({ event: "sse.stream_opened", taskId, task: snapshot.task, cursor }, "SSE stream opened");
  options.onOpen?.(snapshot);

  const overCap = () => res.writableLength > maxBufferedBytes;
  const heartbeat = setInterval(() => {
    if (controller.signal.aborted) return;
    writeSseComment(res, "heartbeat");
    if (overCap()) halt("slow_consumer");
  }, heartbeatMs);
  heartbeat.unref();

  let lastSeq = cursor;
  let finished = false;
  let failure: unknown;
  try {
    for await (const event of taskflow.subscribe(taskId, { afterSeq: cursor, signal: controller.signal })) {
      if (controller.signal.aborted) break;
      const frame = formatSseFrame({ id: event.seq, event: event.name, data: event.data });
      const ok = res.write(frame);
      lastSeq = event.seq;
      if (TERMINAL_EVENTS.has(event.name)) {
        finished = true;
        break;
      }
      // The backlog excludes the frame just written: one frame larger than the cap still reaches a
      // healthy client (else it would be interrupted on every reconnect, forever).
      if (res.writableLength - Buffer.byteLength(frame) > maxBufferedBytes) halt("slow_consumer");
      else if (!ok && !(await drained(res, drainTimeoutMs, controller.signal))) halt("slow_consumer");
      if (controller.signal.aborted) break;
    }
    // The iteration also ends without a terminal event when resumed past the end of a finished task.
    if (!controller.signal.aborted) finished = true;
  } catch (error) {
    if (!controller.signal.aborted) {
      failure = error;
      halt("internal");
    }
  } finally {
    clearInterval(heartbeat);
    options.signal?.removeEventListener("abort", onShutdown);
  }

  if (finished && stop === undefined) {
    res.off("close", onClose);
    res.end();
    logger.info(
      { event: "sse.stream_closed", taskId, lastSeq },
      "SSE stream closed after the terminal event",
    );
    return { outcome: "completed", lastSeq };
  }
  if (stop === "disconnected" || stop === undefined || res.destroyed) {
    res.off("close", onClose);
    logger.info({ event: "sse.client_disconnected", taskId, lastSeq }, "SSE client disconnected");
    return { outcome: "disconnected", lastSeq };
  }
  const code = stop;
  let message = INTERRUPT_MESSAGES[code];
  if (code === "internal") {
    logger.error({ event: "sse.stream_failed", taskId, lastSeq, err: failure }, "SSE stream failed");
    if (!production && failure instanceof Error) message = failure.message;
  }
  // `id` = the last delivered seq: the client's Last-Event-ID stays exact and it resumes losslessly.
  writeSseFrame(res, { id: lastSeq, event: "interrupted", data: { code, message } });
  res.end();
  res.off("close", onClose);
  if (code === "slow_consumer") destroyIfStuck(res, drainTimeoutMs);
  logger.warn({ event: "sse.stream_interrupted", taskId, lastSeq, code }, "SSE stream interrupted");
  return { outcome: "interrupted", lastSeq, code };
}

/** Resolves true on `drain`, false on timeout, abort or close. */
function drained(res: ServerResponse, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onAbort);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onDrain = () => done(true);
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    res.on("drain", onDrain);
    res.on("close", onAbort);
    signal.addEventListener("abort", onAbort);
  });
}

/** A consumer that never reads would pin the socket forever: destroy it once the grace passes. */
function destroyIfStuck(res: ServerResponse, graceMs: number): void {
  if (res.writableFinished) return;
  const timer = setTimeout(() => res.destroy(), graceMs);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
}
