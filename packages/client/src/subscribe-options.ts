import type { TaskLike as AnyTask } from "@taskwire/core";
import type { InterruptedInfo, ReadyInfo, TaskEventOf, TaskResultOf } from "./types";

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
