import { AsyncLocalStorage } from "node:async_hooks";

/**
 * PostgreSQL rejects a NOTIFY payload of 8000 bytes or more (`NOTIFY_PAYLOAD_MAX_LENGTH` with the default
 * 8 kB block size); batches stay strictly below.
 */
export const MAX_PAYLOAD_BYTES = 7999;

/** What a {@link Notifier} needs. */
export interface NotifierOptions {
  /**
   * Sends the notifications, one `(channel, payload)` pair per index, in ONE statement (one round trip,
   * one short transaction that writes nothing else).
   */
  send: (channels: string[], payloads: string[]) => Promise<void>;
  /** Called when a send failed; the ids are queued again and retried with backoff. */
  onError: (error: unknown, ids: number) => void;
  /** Largest payload in bytes. @default {@link MAX_PAYLOAD_BYTES} */
  maxPayloadBytes?: number;
  /**
   * Tag prefixed to every payload (`<origin>|id,id,…`), so the sending store's own listener can skip
   * the doorbells its fast path already rang.
   */
  origin?: string;
}

/**
 * Sends the cross-process doorbells AFTER the writes they announce have committed, coalesced per store.
 *
 * Why not `pg_notify` inside the write: PostgreSQL serialises the commits of notifying transactions on
 * one database-wide lock held through the commit (and its WAL flush), so notifying inside every append
 * caps a whole cluster at a few hundred to a few thousand writes per second. Here writes commit without
 * it; the touched task ids are collected and flushed on a later tick as one statement carrying a few
 * batched payloads, with at most one flush in flight per store (ids touched meanwhile ride the next one).
 *
 * The price is a window between a commit and its notification: if the process dies in it, other nodes
 * are rung by their fallback poll instead (see the README). A doorbell carries no data, so a batch that
 * coalesces several writes to one task, or a ring for a write the reader already saw, is harmless.
 */
export class Notifier {
  #options: NotifierOptions;
  #maxBytes: number;
  #prefix: string;
  /** channel → task ids touched since the last flush. */
  #pending = new Map<string, Set<string>>();
  #scheduled = false;
  #inFlight: Promise<void> | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  // Flushes run in the context the store was built in, never in the async context (the identity) of
  // whichever write happened to schedule them.
  #root = AsyncLocalStorage.snapshot();

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#maxBytes = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    this.#prefix = options.origin === undefined ? "" : `${escapeId(options.origin)}|`;
  }

  /** Queues a doorbell for `taskId` on `channel`; call it only after the write committed. */
  add(channel: string, taskId: string): void {
    if (this.#closed) return;
    let ids = this.#pending.get(channel);
    if (!ids) {
      ids = new Set();
      this.#pending.set(channel, ids);
    }
    ids.add(taskId);
    this.#schedule();
  }

  /** Sends everything queued (waiting for a flush in flight first), then refuses new ids. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#inFlight;
    if (this.#pending.size > 0) await this.#flush(true);
    this.#pending.clear();
  }

  #schedule(): void {
    if (this.#closed || this.#scheduled || this.#inFlight || this.#retryTimer) return;
    this.#scheduled = true;
    this.#root(() => setImmediate(() => void this.#flush(false)));
  }

  async #flush(final: boolean): Promise<void> {
    this.#scheduled = false;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const channels: string[] = [];
    const payloads: string[] = [];
    for (const [channel, ids] of batch) {
      for (const payload of encodePayloads(ids, this.#maxBytes, this.#prefix)) {
        channels.push(channel);
        payloads.push(payload);
      }
    }
    let done!: () => void;
    this.#inFlight = new Promise((resolve) => {
      done = resolve;
    });
    try {
      if (payloads.length > 0) await this.#options.send(channels, payloads);
      this.#failures = 0;
    } catch (error) {
      let count = 0;
      for (const ids of batch.values()) count += ids.size;
      this.#options.onError(error, count);
      if (!final && !this.#closed) this.#requeue(batch);
    } finally {
      this.#inFlight = undefined;
      done();
    }
    if (!final && this.#pending.size > 0) this.#schedule();
  }

  /** Puts a failed batch back and retries after a backoff (100 ms doubling to 5 s). */
  #requeue(batch: Map<string, Set<string>>): void {
    for (const [channel, ids] of batch) for (const id of ids) this.add(channel, id);
    const delay = Math.min(5000, 100 * 2 ** this.#failures++);
    this.#root(() => {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        void this.#flush(false);
      }, delay);
      this.#retryTimer.unref();
    });
  }
}

const ESCAPES: Record<string, string> = { "%": "%25", ",": "%2C", "|": "%7C" };
const UNESCAPES: Record<string, string> = { "25": "%", "2C": ",", "7C": "|" };

/** Escapes the separators (and the escape character) so any task id survives a batch. */
function escapeId(id: string): string {
  return /[%,|]/.test(id) ? id.replace(/[%,|]/g, (c) => ESCAPES[c]!) : id;
}

function unescapeId(part: string): string {
  return part.includes("%") ? part.replace(/%(25|2C|7C)/g, (_, hex: string) => UNESCAPES[hex]!) : part;
}

/**
 * Joins task ids into comma-separated payloads of at most `maxBytes` each, every one starting with
 * `prefix`. An id too long to fit any payload is left out: PostgreSQL could not carry it, and the
 * fallback poll rings its watchers instead.
 */
export function encodePayloads(ids: Iterable<string>, maxBytes = MAX_PAYLOAD_BYTES, prefix = ""): string[] {
  const payloads: string[] = [];
  const base = Buffer.byteLength(prefix);
  let parts: string[] = [];
  let bytes = base;
  for (const id of ids) {
    const part = escapeId(id);
    const size = Buffer.byteLength(part);
    if (base + size > maxBytes) continue;
    if (parts.length > 0 && bytes + 1 + size > maxBytes) {
      payloads.push(prefix + parts.join(","));
      parts = [];
      bytes = base;
    }
    bytes += (parts.length > 0 ? 1 : 0) + size;
    parts.push(part);
  }
  if (parts.length > 0) payloads.push(prefix + parts.join(","));
  return payloads;
}

/**
 * Reads a payload made by {@link encodePayloads}: the origin tag, if any, and the task ids. A payload
 * without a `|` (a plain task id, as an operator's `NOTIFY` would send) is all ids and has no origin.
 */
export function decodePayload(payload: string): { origin: string | undefined; ids: string[] } {
  const bar = payload.indexOf("|");
  const origin = bar < 0 ? undefined : unescapeId(payload.slice(0, bar));
  return {
    origin,
    ids: payload
      .slice(bar + 1)
      .split(",")
      .map(unescapeId),
  };
}
