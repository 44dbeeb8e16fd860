import { randomBytes } from "node:crypto";
import type { LocalDoorbells } from "@taskwire/core/store";
import pg from "pg";
import { FallbackPoll } from "./fallback-poll";
import { Listener } from "./listener";
import { migrate } from "./migrations";
import { decodePayload, Notifier } from "./notifier";
import type { PostgresStoreOptions } from "./postgres-store-options";
import type { Doorbell, Statements } from "./sql";

/**
 * The live resources of an opened store: the query pool, the LISTEN connection, the after-commit
 * notifier and the fallback poll.
 */
export interface Session {
  pool: pg.Pool;
  /** Whether `close()` ends the pool (it does only when the store created it). */
  ownsPool: boolean;
  listener: Listener;
  notifier: Notifier;
  poll: FallbackPoll;
}

/** What {@link startSession} wires together. */
export interface SessionSpec {
  options: PostgresStoreOptions;
  schema: string;
  sql: Statements;
  channels: Record<Doorbell, string>;
  doorbells: LocalDoorbells;
}

/**
 * Opens a session: creates the pool (unless given one), applies migrations, starts the listener (its
 * first connection must succeed, so a bad URL fails `open()`) and the fallback poll. On failure nothing
 * is left running.
 */
export async function startSession(spec: SessionSpec): Promise<Session> {
  const { options, doorbells, channels, sql, schema } = spec;
  const logger = options.logger;
  // Tags this session's NOTIFY payloads: its own listener skips them, because the fast path in
  // `#committed` already rang this store's watchers (a second ring would cost each of them a re-read,
  // and would call cancel watchers twice for one request). Every other store, in this process or not,
  // has another origin and is rung.
  const origin = randomBytes(6).toString("hex");
  const ownsPool = !options.pool;
  const pool =
    options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
  // An idle pooled connection that dies (server restart) must not crash the process; the pool drops it.
  if (ownsPool) pool.on("error", () => undefined);
  let listener: Listener | undefined;
  try {
    const report = await migrate(pool, schema);
    for (const version of report.applied) {
      logger?.info(
        { event: "store.migration_applied", store: "postgres", schema, version },
        "migration applied",
      );
    }
    listener = new Listener({
      config: listenerConfig(options),
      channels: [channels.events, channels.cancels, channels.work],
      onNotification: (channel, payload) => {
        // Batches of task ids; nothing else is deduplicated (a spurious ring is harmless).
        const batch = decodePayload(payload);
        if (batch.origin === origin) return;
        // Work doorbells name the woken tasks too, but any worker may claim them: one ring for all.
        if (channel === channels.work) return doorbells.ringWork();
        const ring =
          channel === channels.events
            ? (id: string) => doorbells.ringEvents(id)
            : (id: string) => doorbells.cancelRequested(id);
        for (const id of batch.ids) ring(id);
      },
      onReconnect: ({ attempts, downMs }) => {
        logger?.info(
          { event: "store.listener_reconnected", store: "postgres", schema, attempts, downMs },
          "LISTEN connection re-established; ringing every watcher",
        );
        afterReconnect(pool, sql, doorbells);
      },
      onFailure: ({ error, attempts, retryInMs }) => {
        logger?.warn(
          { event: "store.listener_failed", store: "postgres", schema, attempts, retryInMs, err: error },
          "LISTEN connection lost or reconnect failed; retrying",
        );
      },
    });
    await listener.start();
    const notifier = new Notifier({
      origin,
      send: async (channelList, payloads) => {
        await pool.query({ ...sql.notify, values: [channelList, payloads] });
      },
      onError: (error, ids) => {
        logger?.warn(
          { event: "store.notify_failed", store: "postgres", schema, ids, err: error },
          "NOTIFY after commit failed; retrying (other nodes' fallback poll covers the gap)",
        );
      },
    });
    const poll = new FallbackPoll({
      intervalMs: options.pollIntervalMs ?? 1000,
      watched: () => doorbells.watchedTaskIds(),
      readSeqs: async (ids) => {
        const { rows } = await pool.query<{ id: string; last_seq: string }>({
          ...sql.pollSeqs,
          values: [ids],
        });
        return new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
      },
      ring: (taskId) => doorbells.ringEvents(taskId),
      // While LISTEN is down, wake-ups on other nodes cannot reach this one: work watchers re-check
      // every tick (a spurious ring costs one claim query). A NOTIFY lost to a writer that died between
      // its commit and the flush is caught by the worker's own claim poll.
      tick: () => {
        if (!listener?.connected) doorbells.ringWork();
      },
    });
    poll.start();
    return { pool, ownsPool, listener, notifier, poll };
  } catch (error) {
    await listener?.close();
    if (ownsPool) await pool.end().catch(() => undefined);
    throw error;
  }
}

/** Stops a session (once it has started; a session that failed to start left nothing behind). */
export async function stopSession(starting: Promise<Session>): Promise<void> {
  const session = await starting.catch(() => undefined);
  if (!session) return;
  session.poll.stop();
  // Doorbells of writes that already committed still go out before the pool ends.
  await session.notifier.close();
  await session.listener.close();
  if (session.ownsPool) await session.pool.end();
}

/**
 * Notifications sent while the listener was down are lost: ring every event watcher (readers re-read
 * from their cursor) and every work watcher (workers claim what was woken meanwhile), and re-announce
 * the pending cancels of running tasks.
 */
function afterReconnect(pool: pg.Pool, sql: Statements, doorbells: LocalDoorbells): void {
  doorbells.ringAllEvents();
  doorbells.ringWork();
  if (!doorbells.hasCancelWatchers()) return;
  pool.query<{ id: string }>({ ...sql.pendingCancels }).then(
    ({ rows }) => {
      for (const { id } of rows) doorbells.cancelRequested(id);
    },
    // Heartbeats (`renewLease` reports `cancelRequested`) still deliver these cancels.
    () => undefined,
  );
}

/** The listener's own client settings: the pool's (or the URL), named so operators can spot it. */
function listenerConfig(options: PostgresStoreOptions): pg.ClientConfig {
  const base: pg.ClientConfig = options.pool
    ? { ...(options.pool.options as pg.ClientConfig) }
    : { connectionString: options.connectionString };
  return { application_name: "taskwire-listener", ...base, keepAlive: true };
}
