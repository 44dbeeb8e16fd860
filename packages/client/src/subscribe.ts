import type { TaskLike as AnyTask } from "@taskwire/core";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import {
  ClientErrorCode,
  errorFromResponse,
  isTaskwireClientError,
  TaskCancelledError,
  TaskFailedError,
  TaskwireClientError,
} from "./errors";
import { EventQueue } from "./event-queue";
import type { HttpTransport } from "./http";
import { segment } from "./http";
import type { InterruptedInfo, ReadyInfo, TaskEventOf, TaskResultOf, TaskSnapshotJson } from "./types";

/** Backoff of automatic reconnects. */
export interface ReconnectOptions {
  /** First delay when the server sent no `retry:` field (a `retry:` field replaces it). @default 1000 */
  initialDelayMs?: number;
  /** Upper bound of the exponential backoff (also caps a server's `Retry-After`). @default 30000 */
  maxDelayMs?: number;
  /** Consecutive failed reconnects before giving up (reset by every `ready` frame). @default 10 */
  maxAttempts?: number;
}

/** Options of `client.subscribe`. */
export interface SubscribeOptions<T extends AnyTask = AnyTask> {
  /** Resume after this seq (0 replays every event). @default 0 */
  afterSeq?: number;
  /** Aborting ends the subscription: the iteration throws and `result` rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called for every event, in seq order, exactly once (before the iterator sees it). */
  onEvent?: (event: TaskEventOf<T>) => void;
  /** Called for every `ready` frame (the first connection and each reconnect). */
  onReady?: (ready: ReadyInfo) => void;
  /** Called when the server ended the stream early with an `interrupted` frame. */
  onInterrupted?: (interrupted: InterruptedInfo) => void;
  /** Called when a reconnect is scheduled (before its delay), with the seq it resumes after. */
  onReconnect?: (attempt: number, lastSeq: number) => void;
  reconnect?: ReconnectOptions;
  /**
   * Treat a connection that delivers no bytes (not even the server's `: heartbeat` comments, every 15 s by
   * default) for this long as dead — a proxy or NAT that dropped it without closing — and resume from the
   * last seq. `0` disables. @default 45000
   */
  idleTimeoutMs?: number;
}

/** A live subscription: iterate it for events, or await `result`. */
export interface TaskSubscription<T extends AnyTask = AnyTask> extends AsyncIterable<TaskEventOf<T>> {
  readonly taskId: string;
  /** Resolves with the result on `completed`; rejects with `TaskFailedError` / `TaskCancelledError` etc. */
  readonly result: Promise<TaskResultOf<T>>;
  /** The last seq delivered (the next reconnect's `Last-Event-ID`). */
  readonly lastSeq: number;
  /** Stops reading and reconnecting; a pending `result` rejects with `SUBSCRIPTION_CLOSED`. */
  close(): void;
}

/** What one connection ended with. */
type Ending = { kind: "terminal" } | { kind: "gone"; retryAfterMs?: number; error?: unknown };

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/** Starts the resume loop at once; see `TaskSubscription`. */
export function createSubscription<T extends AnyTask>(
  http: HttpTransport,
  taskId: string,
  options: SubscribeOptions<T> = {},
  iterable = true,
): TaskSubscription<T> {
  return new Subscription<T>(http, taskId, options, iterable) as TaskSubscription<T>;
}

class Subscription<T extends AnyTask> {
  readonly taskId: string;
  readonly result: Promise<TaskResultOf<T>>;
  #lastSeq: number;
  #resolve!: (value: TaskResultOf<T>) => void;
  #reject!: (error: unknown) => void;
  readonly #http: HttpTransport;
  readonly #options: SubscribeOptions<T>;
  readonly #stop = new AbortController();
  /** Absent for `run()`: nobody can iterate it, so events are not held. */
  readonly #queue: EventQueue<TaskEventOf<T>> | undefined;
  #ended = false;
  #retryMs: number | undefined;

  constructor(http: HttpTransport, taskId: string, options: SubscribeOptions<T>, iterable: boolean) {
    this.#http = http;
    this.taskId = taskId;
    this.#options = options;
    this.#queue = iterable ? new EventQueue() : undefined;
    const afterSeq = options.afterSeq ?? 0;
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0)
      throw new TypeError(`afterSeq must be a non-negative integer, got ${String(afterSeq)}.`);
    this.#lastSeq = afterSeq;
    this.result = new Promise<TaskResultOf<T>>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers that only iterate must not get an unhandled rejection from `result`.
    void this.result.catch(() => undefined);
    const signal = options.signal;
    const onAbort = () => this.#finish(signal?.reason);
    if (signal?.aborted) onAbort();
    else {
      signal?.addEventListener("abort", onAbort, { once: true });
      void this.#run()
        .catch((error: unknown) => this.#finish(error))
        .finally(() => signal?.removeEventListener("abort", onAbort));
    }
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  close(): void {
    this.#finish(
      new TaskwireClientError(
        ClientErrorCode.SUBSCRIPTION_CLOSED,
        `The subscription to task ${this.taskId} was closed before the task ended.`,
      ),
    );
  }

  /** The resume loop: connect, read until the stream ends, back off, reconnect from `lastSeq`. */
  async #run(): Promise<void> {
    const { initialDelayMs = 1000, maxDelayMs = 30_000, maxAttempts = 10 } = this.#options.reconnect ?? {};
    let attempt = 0;
    while (!this.#ended) {
      let ending: Ending;
      try {
        ending = await this.#connect(() => {
          attempt = 0;
        });
      } catch (error) {
        // Fatal: 4xx, a protocol violation, a throwing callback, or the abort itself.
        this.#finish(error);
        return;
      }
      if (ending.kind === "terminal" || this.#ended) return;
      attempt += 1;
      if (attempt > maxAttempts) {
        const message = `Gave up on the stream of task ${this.taskId} after ${maxAttempts} reconnects.`;
        this.#finish(
          isTaskwireClientError(ending.error)
            ? ending.error
            : new TaskwireClientError(ClientErrorCode.NETWORK_ERROR, message, { cause: ending.error }),
        );
        return;
      }
      const base = this.#retryMs ?? initialDelayMs;
      const backoff = Math.min(maxDelayMs, base * 2 ** (attempt - 1));
      // Equal jitter: half fixed, half random, so a fleet of clients does not reconnect in lockstep.
      const delay = Math.min(
        maxDelayMs,
        Math.max(backoff / 2 + Math.random() * (backoff / 2), ending.retryAfterMs ?? 0),
      );
      try {
        this.#options.onReconnect?.(attempt, this.#lastSeq);
      } catch (error) {
        this.#finish(error);
        return;
      }
      await sleep(delay, this.#stop.signal);
    }
  }

  /** One connection. Resolves how it ended (retryable); rejects on anything a retry cannot fix. */
  async #connect(onOpen: () => void): Promise<Ending> {
    const connection = new AbortController();
    const stop = () => connection.abort(this.#stop.signal.reason);
    this.#stop.signal.addEventListener("abort", stop, { once: true });
    try {
      let response: Response;
      try {
        response = await this.#http.send("GET", `/tasks/${segment(this.taskId)}/events`, {
          headers: { Accept: "text/event-stream", "Last-Event-ID": String(this.#lastSeq) },
          signal: connection.signal,
        });
      } catch (error) {
        if (this.#ended) throw error;
        return { kind: "gone", error };
      }
      if (response.status === 204) {
        // At or past the terminal event: the snapshot holds the outcome.
        try {
          await this.#settleFromSnapshot(connection.signal);
        } catch (error) {
          if (this.#ended || !isTransient(error)) throw error;
          return { kind: "gone", error }; // the reconnect gets 204 again and retries the snapshot
        }
        return { kind: "terminal" };
      }
      if (!response.ok) {
        const error = await errorFromResponse(response);
        if (!isTransient(error)) throw error;
        return { kind: "gone", error, retryAfterMs: error.retryAfterMs };
      }
      const type = response.headers.get("Content-Type") ?? "";
      if (!type.toLowerCase().startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel();
        throw new TaskwireClientError(
          ClientErrorCode.PROTOCOL_ERROR,
          `The events of task ${this.taskId} answered ${response.status} with ${type || "no content type"}.`,
          { status: response.status },
        );
      }
      return await this.#read(response.body, onOpen, connection);
    } finally {
      this.#stop.signal.removeEventListener("abort", stop);
      connection.abort();
    }
  }

  /** Feeds the body to the SSE parser until a terminal frame, the end of the body, or a gap. */
  async #read(
    body: ReadableStream<Uint8Array>,
    onOpen: () => void,
    connection: AbortController,
  ): Promise<Ending> {
    let terminal = false;
    let gap = false;
    let fatal: unknown;
    const parser = createParser({
      onRetry: (ms) => {
        this.#retryMs = ms;
      },
      onEvent: (message) => {
        if (terminal || gap || fatal !== undefined) return;
        try {
          const outcome = this.#handle(message, onOpen);
          if (outcome === "terminal") terminal = true;
          else if (outcome === "gap") gap = true;
        } catch (error) {
          fatal = error;
        }
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const idleMs = this.#options.idleTimeoutMs ?? 45_000;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const armIdle = () => {
      if (idleMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        const message = `No data on the stream of task ${this.taskId} for ${idleMs} ms; reconnecting.`;
        connection.abort(new TaskwireClientError(ClientErrorCode.NETWORK_ERROR, message));
      }, idleMs);
    };
    try {
      while (!terminal && !gap && fatal === undefined) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        armIdle();
        try {
          chunk = await reader.read();
        } catch (error) {
          // Our own abort (close, signal, terminal, idle) ends the read; anything else is a dropped connection.
          return { kind: "gone", error };
        } finally {
          // Not while we wait for the consumer below: our own back-pressure is not a dead connection.
          clearTimeout(idle);
        }
        if (chunk.done) {
          parser.feed(decoder.decode());
          break;
        }
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        await this.#queue?.space();
      }
    } finally {
      clearTimeout(idle);
      connection.abort();
      reader.releaseLock();
    }
    if (fatal !== undefined) throw fatal;
    // A gap or an early end (dropped connection, `interrupted`): reconnect from lastSeq.
    return terminal ? { kind: "terminal" } : { kind: "gone" };
  }

  /** Handles one frame; returns what it means for the connection. */
  #handle(message: EventSourceMessage, onOpen: () => void): "ok" | "terminal" | "gap" {
    const name = message.event;
    // The server's canonical seq form only (as it parses Last-Event-ID): "", "1e3", "0x10" or "01" are not ids.
    const seq =
      message.id !== undefined && /^(0|[1-9]\d*)$/.test(message.id) ? Number(message.id) : Number.NaN;
    if (name === undefined || !Number.isSafeInteger(seq) || seq < 0) return "ok"; // not a Taskwire frame
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      throw new TaskwireClientError(
        ClientErrorCode.PROTOCOL_ERROR,
        `Frame ${seq} (${name}) of task ${this.taskId} is not JSON.`,
        { cause: error },
      );
    }
    if (name === "ready") {
      // The cursor the server resumes after; past ours would mean events we never saw were skipped.
      if (seq > this.#lastSeq) return "gap";
      onOpen();
      const ready = (data ?? {}) as Omit<ReadyInfo, "seq">;
      this.#options.onReady?.({ taskId: ready.taskId, task: ready.task, status: ready.status, seq });
      return "ok";
    }
    if (name === "interrupted") {
      const info = (data ?? {}) as Partial<InterruptedInfo>;
      this.#options.onInterrupted?.({
        code: String(info.code ?? "internal"),
        message: String(info.message ?? ""),
        seq,
      });
      return "ok";
    }
    if (seq <= this.#lastSeq) return "ok"; // already delivered (a replay overlap): never twice
    if (seq !== this.#lastSeq + 1) return "gap"; // never skip: reconnect from lastSeq instead
    this.#lastSeq = seq;
    const event = { seq, name, data } as TaskEventOf<T>;
    this.#options.onEvent?.(event);
    this.#queue?.push(event);
    if (TERMINAL.has(name)) {
      this.#settleTerminal(name, data);
      return "terminal";
    }
    return "ok";
  }

  #settleTerminal(name: string, data: unknown): void {
    const payload = (data ?? {}) as {
      result?: unknown;
      error?: { code?: unknown; message?: unknown };
      reason?: unknown;
    };
    if (name === "completed") this.#finish(undefined, payload.result as TaskResultOf<T>);
    else if (name === "failed")
      this.#finish(
        new TaskFailedError(this.taskId, {
          code: String(payload.error?.code ?? "INTERNAL"),
          message: String(payload.error?.message ?? `Task ${this.taskId} failed.`),
        }),
      );
    else
      this.#finish(
        new TaskCancelledError(this.taskId, typeof payload.reason === "string" ? payload.reason : undefined),
      );
  }

  async #settleFromSnapshot(signal: AbortSignal): Promise<void> {
    const snapshot = await this.#http.json<TaskSnapshotJson<T>>("GET", `/tasks/${segment(this.taskId)}`, {
      signal,
    });
    if (snapshot.status === "completed") this.#finish(undefined, snapshot.result as TaskResultOf<T>);
    else if (snapshot.status === "failed")
      this.#finish(
        new TaskFailedError(this.taskId, snapshot.error ?? { code: "INTERNAL", message: "failed" }),
      );
    else if (snapshot.status === "cancelled") this.#finish(new TaskCancelledError(this.taskId));
    else
      throw new TaskwireClientError(
        ClientErrorCode.PROTOCOL_ERROR,
        `The stream of task ${this.taskId} answered 204 but the task is ${snapshot.status}.`,
        { status: 204 },
      );
  }

  /** Ends the subscription once: settles `result`, stops the connection and any backoff timer. */
  #finish(error: unknown, value?: TaskResultOf<T>): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error === undefined) this.#resolve(value as TaskResultOf<T>);
    else this.#reject(error);
    // A task outcome lets the iterator drain up to the terminal event; anything else stops it at once.
    if (error === undefined || isOutcome(error)) this.#queue?.end();
    else this.#queue?.end(error);
    this.#stop.abort(error ?? new Error("The task ended."));
  }

  [Symbol.asyncIterator](): AsyncIterator<TaskEventOf<T>> {
    if (!this.#queue) throw new TypeError("This subscription is not iterable (use its result).");
    return this.#queue.iterator(() => this.close());
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared either way). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Worth a retry: no response at all, a 5xx, a 429 or a 408. */
function isTransient(error: unknown): boolean {
  if (!isTaskwireClientError(error)) return false;
  if (error.code === ClientErrorCode.NETWORK_ERROR) return true;
  const status = error.status ?? 0;
  return status >= 500 || status === 429 || status === 408;
}

function isOutcome(error: unknown): boolean {
  return error instanceof TaskFailedError || error instanceof TaskCancelledError;
}
