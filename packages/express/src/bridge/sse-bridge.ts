import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type DebounceOptions,
  type DefinitionOf,
  type InferTaskInput,
  isTaskwireError,
  ShuttingDownError,
  type StartResult,
  type Taskflow,
  type TaskLike,
  type TraceCarrier,
  type UserContext,
} from "@taskwire/core";
import type { Request } from "express";
import type { Logger } from "pino";
import { defaultResolveUser, type ResolveUser, requireUser } from "../identity/resolve-user";
import {
  SSE_DEFAULTS,
  type SseOptions,
  type StreamResult,
  streamTaskEvents,
} from "../sse/stream-task-events";
import { validateIdempotencyKey } from "./idempotency-key";
import { type Detach, WatcherRegistry } from "./watcher-registry";

/** Per-owner limits enforced when tasks are started over HTTP or through `executeTask`. */
export interface LimitsOptions {
  /**
   * Most queued/running/retrying tasks one owner may have; a start over the limit is a 429. Enforced by
   * the store atomically with the insert (racing starts never overshoot) and after the idempotency key (a
   * start that re-attaches to a run in flight is never refused).
   * @default unlimited
   */
  maxActiveTasksPerOwner?: number;
  /** The `Retry-After` of a 429, in seconds. @default 5 */
  retryAfterSeconds?: number;
}

/** Options of {@link createSseBridge}. */
export interface SseBridgeOptions {
  taskflow: Taskflow;
  /** Resolves the caller of a request. @default defaultResolveUser */
  resolveUser?: ResolveUser;
  /** SSE tuning. */
  sse?: SseOptions;
  limits?: LimitsOptions;
  /** Mask internal messages. @default NODE_ENV === "production" */
  production?: boolean;
  /** @default taskflow.logger.child({ component: "express" }) */
  logger?: Logger;
}

/** Options of {@link SseBridge.stream}. */
export interface BridgeStreamOptions {
  /** Resume after this seq instead of the request's `Last-Event-ID`. */
  afterSeq?: number;
}

/**
 * The per-process SSE bridge shared by the task router and every plugin: user resolution, starts under
 * per-owner limits, streams, the registry of watchers (for cancel-on-disconnect) and graceful close.
 * `executeTask` (bridge/execute-task.ts) builds on it; the bridge never calls back into it.
 */
export class SseBridge {
  readonly taskflow: Taskflow;
  readonly logger: Logger;
  readonly production: boolean;
  readonly sse: Readonly<Required<SseOptions>>;
  readonly watchers: WatcherRegistry;
  readonly #resolveUser: ResolveUser;
  readonly #limits: LimitsOptions;
  readonly #users = new WeakMap<Request, Promise<UserContext>>();
  readonly #shutdown = new AbortController();
  readonly #open = new Set<Promise<unknown>>();

  constructor(options: SseBridgeOptions) {
    this.taskflow = options.taskflow;
    this.logger = options.logger ?? options.taskflow.logger.child({ component: "express" });
    this.production = options.production ?? process.env.NODE_ENV === "production";
    this.sse = Object.freeze({ ...SSE_DEFAULTS, ...definedOnly(options.sse ?? {}) });
    this.#resolveUser = options.resolveUser ?? defaultResolveUser;
    this.#limits = options.limits ?? {};
    this.watchers = new WatcherRegistry(this.taskflow, this.logger);
  }

  /** Whether `close()` was called: new requests and streams are refused (503). */
  get closing(): boolean {
    return this.#shutdown.signal.aborted;
  }

  /** Aborts when the bridge closes; every open stream listens to it. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** The caller of `req` (resolved once per request); `UnauthenticatedError` when there is none. */
  resolveUser(req: Request): Promise<UserContext> {
    let user = this.#users.get(req);
    if (!user) {
      user = requireUser(this.#resolveUser, req);
      this.#users.set(req, user);
    }
    return user;
  }

  /**
   * Starts a task as the current user (identity only from the user context) after the shutdown check.
   * The idempotency key is checked here, so the router and `executeTask` follow one rule (400 otherwise).
   */
  async start<T extends TaskLike>(
    task: T,
    input: unknown,
    options: {
      idempotencyKey?: string | undefined;
      debounce?: DebounceOptions | undefined;
      trace?: TraceCarrier | undefined;
    } = {},
  ): Promise<StartResult<DefinitionOf<T>>> {
    if (this.closing) throw new ShuttingDownError();
    validateIdempotencyKey(options.idempotencyKey);
    // Enforced by the store, atomically and after the idempotency key: a start that re-attaches to a
    // run in flight (a page refresh with the same key) is never refused, and racing starts never overshoot.
    const max = this.#limits.maxActiveTasksPerOwner;
    const startOptions = {
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(options.trace === undefined ? {} : { trace: options.trace }),
      // Validated by the engine (a ValidationError naming `debounce.periodMs` … is a 400).
      ...(options.debounce === undefined ? {} : { debounce: options.debounce }),
      ...(max === undefined
        ? {}
        : { maxActivePerOwner: max, retryAfterMs: (this.#limits.retryAfterSeconds ?? 5) * 1000 }),
    };
    try {
      return await this.taskflow.start(task, input as InferTaskInput<DefinitionOf<T>>, startOptions);
    } catch (error) {
      // Answered 429; labelled by the limit that refused the start.
      if (isTaskwireError(error, "BACKPRESSURE"))
        this.taskflow.metrics?.httpThrottled(String(error.details?.limit ?? "unknown"));
      throw error;
    }
  }

  /**
   * Streams a task's events as the current user (see `streamTaskEvents`), counted as a watcher of the
   * task once open, and interrupted with `server_shutting_down` when the bridge closes.
   */
  stream(
    req: IncomingMessage,
    res: ServerResponse,
    taskId: string,
    options: BridgeStreamOptions = {},
  ): Promise<StreamResult> {
    if (this.closing) return Promise.reject(new ShuttingDownError());
    // Attached only once open: a request refused before the headers (another owner's) is no reconnect.
    let detach: Detach | undefined;
    const { metrics } = this.taskflow;
    let counted = false;
    const run = streamTaskEvents(req, res, this.taskflow, taskId, {
      ...this.sse,
      afterSeq: options.afterSeq,
      signal: this.#shutdown.signal,
      production: this.production,
      logger: this.logger,
      onOpen: (_snapshot, cursor) => {
        detach = this.watchers.attach(taskId);
        if (metrics) {
          counted = true;
          metrics.sseStreamOpened();
          if (cursor > 0) metrics.sseReplayed();
        }
      },
    }).then(
      (result) => {
        detach?.(result);
        if (counted) metrics?.sseStreamClosed();
        return result;
      },
      (error: unknown) => {
        if (counted) metrics?.sseStreamClosed();
        throw error;
      },
    );
    const tracked = run.catch(() => undefined);
    this.#open.add(tracked);
    void tracked.finally(() => this.#open.delete(tracked));
    return run;
  }

  /** Open streams, watched tasks and pending cancels of this process. */
  stats(): { openStreams: number; watchedTasks: number; pendingCancels: number } {
    const { watchedTasks, pendingCancels } = this.watchers.stats();
    return { openStreams: this.#open.size, watchedTasks, pendingCancels };
  }

  /**
   * Refuses new streams, interrupts every open one with `server_shutting_down`, waits for them to end,
   * and drops pending cancel-on-disconnect timers (shutdown hands tasks back; it never cancels them).
   */
  async close(): Promise<void> {
    if (!this.closing) this.#shutdown.abort();
    this.watchers.close();
    await Promise.all([...this.#open]);
  }
}

/**
 * Creates the SSE bridge (normally done by `createTaskwireApp`).
 * @example const bridge = createSseBridge({ taskflow, sse: { heartbeatMs: 10_000 } });
 */
export function createSseBridge(options: SseBridgeOptions): SseBridge {
  return new SseBridge(options);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
