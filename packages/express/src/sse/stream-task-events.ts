import type { IncomingMessage, ServerResponse } from "node:http";
import {
  isTerminalEventName,
  isTerminalStatus,
  type SerializedError,
  subscribeEventPages,
  type Taskflow,
  type TaskSnapshot,
} from "@taskwire/core";
import { decode, type EventRecord } from "@taskwire/core/store";
import type { Logger } from "pino";
import { publicTaskError } from "../http-errors/to-http-error";
import { formatSseFrame, formatSseJsonFrame, writeSseComment, writeSseFrame } from "./frames";
import { setupSseHeaders } from "./headers";
import { resolveResumeCursor } from "./last-event-id";
import { StreamState } from "./stream-state";

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
  /** Called once the stream is open (headers and `ready` written), with the seq it resumes after. */
  onOpen?: (snapshot: TaskSnapshot, cursor: number) => void;
}

/** Why a stream ended. */
export type StreamOutcome =
  /** The task's current terminal frame was written and the response ended. */
  | "completed"
  /** Resumed at or past the task's current terminal event: answered 204. */
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
 * event with `id: <seq>` (`child` bridge events included), until the task's current terminal frame,
 * which ends the response (a retried task's earlier `failed` frame does not). Errors before the headers
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
  const logger = options.logger ?? taskflow.logger;
  const cursor = options.afterSeq ?? resolveResumeCursor(req);

  // Watch the response, not the request: a POST's request emits 'close' once its body was read.
  let gone = res.destroyed || res.closed;
  const onEarlyClose = () => {
    if (!res.writableFinished) gone = true;
  };
  res.on("close", onEarlyClose);
  let snapshot: TaskSnapshot;
  try {
    snapshot = await taskflow.get(taskId);
  } finally {
    res.off("close", onEarlyClose);
  }
  if (gone) {
    logger.debug({ event: "sse.client_disconnected", taskId, lastSeq: cursor }, "client left before open");
    return { outcome: "disconnected", lastSeq: cursor };
  }
  if (isTerminalStatus(snapshot.status) && cursor >= snapshot.lastSeq) {
    // Only a task that is terminal NOW, resumed at or past its current terminal event (its lastSeq): a
    // retried task resumed after its old `failed` event streams on. 204 stops a browser EventSource for good.
    res.statusCode = 204;
    res.end();
    logger.debug({ event: "sse.stream_skipped", taskId, cursor }, "resume at or past the terminal event");
    return { outcome: "already_finished", lastSeq: cursor };
  }

  const stream = new StreamState(res, options.signal);
  const opened = { task: snapshot.task, at: Date.now() };
  try {
    // The head, the `:ok` comment and `ready` leave in one packet.
    res.cork();
    setupSseHeaders(res);
    writeSseFrame(res, {
      id: cursor,
      event: "ready",
      data: { taskId: snapshot.taskId, task: snapshot.task, status: snapshot.status },
      retry: options.retryMs ?? SSE_DEFAULTS.retryMs,
    });
    res.uncork();
    logger.info({ event: "sse.stream_opened", taskId, task: snapshot.task, cursor }, "SSE stream opened");
    options.onOpen?.(snapshot, cursor);
    await pump(res, stream, taskflow, snapshot, cursor, options);
  } finally {
    stream.dispose();
  }
  return endStream(res, stream, { taskId, ...opened }, logger, options);
}

/** Frames written in one `res.write()` at most this large (a page of small events is one write). */
const CHUNK_BYTES = 64 * 1024;

/**
 * Replay + live: one frame per WAL event, written a page (one store read) at a time in chunks of up to
 * {@link CHUNK_BYTES}, with back-pressure after each chunk; heartbeats while the task is quiet.
 */
async function pump(
  res: ServerResponse,
  stream: StreamState,
  taskflow: Taskflow,
  snapshot: TaskSnapshot,
  cursor: number,
  options: StreamTaskEventsOptions,
): Promise<void> {
  const maxBufferedBytes = options.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes;
  const drainTimeoutMs = options.drainTimeoutMs ?? SSE_DEFAULTS.drainTimeoutMs;
  stream.lastSeq = cursor;
  const production = options.production ?? process.env.NODE_ENV === "production";
  const heartbeat = setInterval(() => {
    // While draining the buffer is not empty anyway; adding to it would only count against the client.
    if (stream.aborted || stream.draining) return;
    writeSseComment(res, "heartbeat");
    if (res.writableLength > maxBufferedBytes) stream.halt("slow_consumer");
  }, options.heartbeatMs ?? SSE_DEFAULTS.heartbeatMs);
  heartbeat.unref();
  /** Writes `chunk` (frames up to `lastSeq`); false once the stream must stop. */
  const send = async (chunk: string, lastSeq: number, terminal: boolean): Promise<boolean> => {
    const ok = res.write(chunk);
    stream.lastSeq = lastSeq;
    // No slow-consumer check after a terminal frame: the response usually ends right after it.
    if (terminal) return !stream.aborted;
    // The backlog excludes the chunk just written: a frame larger than the cap still reaches a healthy
    // client (else it would be interrupted on every reconnect, forever).
    if (res.writableLength - Buffer.byteLength(chunk) > maxBufferedBytes) stream.halt("slow_consumer");
    else if (!ok) {
      stream.draining = true;
      const drainedInTime = await drained(res, drainTimeoutMs, stream.controller.signal);
      stream.draining = false;
      if (!drainedInTime) stream.halt("slow_consumer");
    }
    return !stream.aborted;
  };
  try {
    const signal = stream.controller.signal;
    // The snapshot was read (owner-checked) just before: the pages need no second read of the task.
    const pages = subscribeEventPages(
      taskflow.store,
      snapshot.taskId,
      { afterSeq: cursor, signal },
      snapshot,
    );
    outer: for await (const page of pages) {
      if (stream.aborted) break;
      let chunk = "";
      for (const record of page) {
        chunk += frameOf(record, production);
        const terminal = isTerminalEventName(record.name);
        // The pages end after the task's CURRENT terminal event (core decides): an earlier one of a
        // retried task is an ordinary frame, followed by the new run.
        if (chunk.length >= CHUNK_BYTES || record === page[page.length - 1]) {
          if (!(await send(chunk, record.seq, terminal))) break outer;
          chunk = "";
        }
      }
    }
    // Also reached without a terminal event when resumed past the end of a task that just finished.
    if (!stream.aborted) stream.finished = true;
  } catch (error) {
    if (!stream.aborted) {
      stream.failure = error;
      stream.halt("internal");
    }
  } finally {
    clearInterval(heartbeat);
  }
}

/**
 * One WAL event as a frame. The stored text is written as it is when the codec tagged nothing in it (no
 * BigInt, Date or escaped key: then it is exactly the JSON `toSseJson` would write); a `failed` event's
 * error goes through `publicTaskError` (masked in production).
 */
function frameOf(record: EventRecord, production: boolean): string {
  if (record.name === "failed") {
    const { error } = decode<{ error: SerializedError }>(record.data);
    return formatSseFrame({
      id: record.seq,
      event: record.name,
      data: { error: publicTaskError(error, production) },
    });
  }
  if (!record.data.includes("$tw")) return formatSseJsonFrame(record.seq, record.name, record.data);
  return formatSseFrame({ id: record.seq, event: record.name, data: decode(record.data) });
}

/** Ends the response the way the stream stopped: after the terminal frame, silently, or `interrupted`. */
function endStream(
  res: ServerResponse,
  stream: StreamState,
  opened: { taskId: string; task: string; at: number },
  logger: Logger,
  options: StreamTaskEventsOptions,
): StreamResult {
  const { lastSeq } = stream;
  const { taskId, task } = opened;
  const durationMs = Date.now() - opened.at;
  if (stream.finished && stream.stop === undefined) {
    res.end();
    logger.info(
      { event: "sse.stream_closed", taskId, task, lastSeq, durationMs },
      "SSE stream closed after the terminal event",
    );
    return { outcome: "completed", lastSeq };
  }
  if (stream.stop === "disconnected" || stream.stop === undefined || res.destroyed) {
    logger.info(
      { event: "sse.client_disconnected", taskId, task, lastSeq, durationMs },
      "SSE client disconnected",
    );
    return { outcome: "disconnected", lastSeq };
  }
  const code = stream.stop;
  let message = INTERRUPT_MESSAGES[code];
  if (code === "internal") {
    logger.error(
      { event: "sse.stream_failed", taskId, task, lastSeq, durationMs, err: stream.failure },
      "SSE stream failed",
    );
    const production = options.production ?? process.env.NODE_ENV === "production";
    if (!production && stream.failure instanceof Error) message = stream.failure.message;
  }
  // `id` = the last delivered seq: the client's Last-Event-ID stays exact and it resumes losslessly.
  writeSseFrame(res, { id: lastSeq, event: "interrupted", data: { code, message } });
  res.end();
  if (code === "slow_consumer") destroyIfStuck(res, options.drainTimeoutMs ?? SSE_DEFAULTS.drainTimeoutMs);
  logger.warn(
    { event: "sse.stream_interrupted", taskId, task, lastSeq, code, durationMs },
    "SSE stream interrupted",
  );
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
