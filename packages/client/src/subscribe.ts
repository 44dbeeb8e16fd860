import type { TaskLike as AnyTask } from "@taskwire/core";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { abortableSleep } from "./abortable-sleep";
import {
  ClientErrorCode,
  errorFromResponse,
  isTaskwireClientError,
  isTransient,
  TaskwireClientError,
} from "./errors";
import { EventQueue } from "./event-queue";
import type { HttpTransport } from "./http";
import { segment } from "./http";
import type { SubscribeOptions, TaskSubscription } from "./subscribe-options";
import {
  isOutcome,
  isTerminalName,
  outcomeOfSnapshot,
  outcomeOfTerminal,
  type TaskOutcome,
} from "./task-outcome";
import type { InterruptedInfo, ReadyInfo, TaskEventOf, TaskResultOf, TaskSnapshotJson } from "./types";

export type { ReconnectOptions, SubscribeOptions, TaskSubscription } from "./subscribe-options";

/** What one connection ended with. */
type Ending = { kind: "terminal" } | { kind: "gone"; retryAfterMs?: number; error?: unknown };

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
  /**
   * The last frame of this connection, when it was a terminal one. It settles the subscription only once
   * the server ends the response right after it: a retried task's old `failed` frame is followed by more.
   */
  #terminal: { name: string; data: unknown } | undefined;

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
      await abortableSleep(delay, this.#stop.signal);
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
        // At or past the task's current terminal event: the snapshot holds the outcome.
        try {
          if (await this.#settleFromSnapshot(connection.signal)) return { kind: "terminal" };
        } catch (error) {
          if (this.#ended || !isTransient(error)) throw error;
          return { kind: "gone", error }; // the reconnect gets 204 again and retries the snapshot
        }
        // Retried between the 204 and the snapshot: the reconnect streams the new run.
        return { kind: "gone" };
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

  /**
   * Feeds the body to the SSE parser until the body ends or a gap. The server ends the response right
   * after the task's current terminal frame, so a clean end with a terminal frame last settles the
   * subscription (the server is the authority on which terminal event is current); any other end resumes.
   */
  async #read(
    body: ReadableStream<Uint8Array>,
    onOpen: () => void,
    connection: AbortController,
  ): Promise<Ending> {
    let done = false;
    let gap = false;
    let fatal: unknown;
    this.#terminal = undefined;
    const parser = createParser({
      onRetry: (ms) => {
        this.#retryMs = ms;
      },
      onEvent: (message) => {
        if (gap || fatal !== undefined) return;
        try {
          if (this.#handle(message, onOpen) === "gap") gap = true;
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
      while (!done && !gap && fatal === undefined) {
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
          done = true;
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
    // Read through a method: TypeScript cannot see that the parser callbacks set the field.
    const terminal = this.#lastTerminal();
    if (done && !gap && terminal) {
      this.#settle(outcomeOfTerminal(this.taskId, terminal.name, terminal.data));
      return { kind: "terminal" };
    }
    // A gap or an early end (dropped connection, `interrupted`): reconnect from lastSeq. A drop right
    // after a terminal frame resumes at it: a 204 then settles from the snapshot.
    return { kind: "gone" };
  }

  #lastTerminal(): { name: string; data: unknown } | undefined {
    return this.#terminal;
  }

  /** Handles one frame; returns what it means for the connection. */
  #handle(message: EventSourceMessage, onOpen: () => void): "ok" | "gap" {
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
      this.#terminal = undefined; // the server stopped early: resume, even after a terminal frame
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
    // Settled when the response ends right after it (see #read); any later frame supersedes it.
    this.#terminal = isTerminalName(name) ? { name, data } : undefined;
    return "ok";
  }

  /** Settles with a task outcome (see `task-outcome.ts`); `undefined` for a task not finished. */
  #settle(outcome: TaskOutcome | undefined): boolean {
    if (!outcome) return false;
    if ("error" in outcome) this.#finish(outcome.error);
    else this.#finish(undefined, outcome.result as TaskResultOf<T>);
    return true;
  }

  /** Settles from the snapshot after a 204; false when the task is no longer terminal (retried since). */
  async #settleFromSnapshot(signal: AbortSignal): Promise<boolean> {
    const snapshot = await this.#http.json<TaskSnapshotJson>("GET", `/tasks/${segment(this.taskId)}`, {
      signal,
    });
    return this.#settle(outcomeOfSnapshot(this.taskId, snapshot));
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
