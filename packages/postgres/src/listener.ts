import pg from "pg";
import { quoteIdent } from "./sql-kit";

/** What a {@link Listener} needs. */
export interface ListenerOptions {
  /** Connection settings of the dedicated client (never a pooled connection: LISTEN is per session). */
  config: pg.ClientConfig;
  /** Channels to LISTEN on. */
  channels: readonly string[];
  /** Called for every notification. */
  onNotification: (channel: string, payload: string) => void;
  /**
   * Called after a lost connection was re-established and LISTEN is active again, with the number of
   * attempts it took and how long LISTEN was down. Notifications sent meanwhile are gone, so the callee
   * must assume it missed some.
   */
  onReconnect: (info: { attempts: number; downMs: number }) => void;
  /** Called when the connection is lost and after each failed reconnect attempt. */
  onFailure?: (info: { error: unknown; attempts: number; retryInMs: number }) => void;
  /** First reconnect delay; doubles up to `maxBackoffMs`, with jitter. @default 100 */
  initialBackoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
}

/**
 * One dedicated `pg.Client` that LISTENs on the store's channels and reconnects with backoff when the
 * connection errors or ends. Timers are unref'ed, so a store never keeps the process alive by itself.
 */
export class Listener {
  #options: ListenerOptions;
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lostAt = 0;
  #closed = false;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Whether LISTEN is currently active. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Connects and LISTENs; rejects if the first attempt fails (so `open()` fails loudly). */
  async start(): Promise<void> {
    this.#closed = false;
    await this.#connect();
  }

  /** Stops reconnecting and ends the connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#options.config);
    client.on("error", (error) => this.#lost(client, error));
    client.on("end", () => this.#lost(client, new Error("LISTEN connection ended")));
    client.on("notification", (message) => {
      if (message.payload !== undefined) this.#options.onNotification(message.channel, message.payload);
    });
    try {
      await client.connect();
      await client.query(this.#options.channels.map((c) => `LISTEN ${quoteIdent(c)}`).join("; "));
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
  }

  #lost(client: pg.Client, error: unknown): void {
    // Late events of an old or never-adopted client, and our own close(), are not losses.
    if (client !== this.#client || this.#closed) return;
    this.#client = undefined;
    this.#lostAt = Date.now();
    client.end().catch(() => undefined);
    this.#scheduleReconnect(error);
  }

  #scheduleReconnect(error: unknown): void {
    const initial = this.#options.initialBackoffMs ?? 100;
    const max = this.#options.maxBackoffMs ?? 5000;
    const base = Math.min(max, initial * 2 ** this.#failures);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#timer = setTimeout(() => void this.#reconnect(), delay);
    this.#timer.unref();
    this.#options.onFailure?.({ error, attempts: this.#failures, retryInMs: Math.round(delay) });
  }

  async #reconnect(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    try {
      await this.#connect();
    } catch (error) {
      if (this.#closed) return;
      this.#failures += 1;
      this.#scheduleReconnect(error);
      return;
    }
    if (this.#closed) return;
    const attempts = this.#failures + 1;
    this.#failures = 0;
    this.#options.onReconnect({ attempts, downMs: Date.now() - this.#lostAt });
  }
}
