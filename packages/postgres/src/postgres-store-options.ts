import type pg from "pg";
import type { Logger } from "pino";

/** Options of {@link postgresStore}. Give a `connectionString` or your own `pool`. */
export interface PostgresStoreOptions {
  /** Connection string for the pool the store creates (and ends on `close()`). */
  connectionString?: string;
  /**
   * An existing pool to run queries on; the store never ends it. The LISTEN connection is still a
   * separate `pg.Client`, built from the pool's options.
   */
  pool?: pg.Pool;
  /**
   * Schema holding the tables (created if missing); NOTIFY channels are `<schema>_events`,
   * `<schema>_cancels` and `<schema>_work`. Letters, digits and `_`, at most 48 characters.
   * @default "taskwire"
   */
  schema?: string;
  /**
   * Interval of the fallback poll that rings watchers whose task moved, under LISTEN/NOTIFY. It runs only
   * while this store has event watchers, and bounds how late a remote ring can be when a NOTIFY was lost
   * (its writer died between commit and notify, or the listener connection was down). `0` turns it off
   * (rings then rely on notifications and the ring-everyone after a listener reconnect).
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * Size of the pool the store creates (ignored with `pool`).
   * @default 10
   */
  max?: number;
  /**
   * pino logger for the store's own events: `store.migration_applied`, `store.listener_failed`,
   * `store.listener_reconnected`, `store.notify_failed`. Task ids and counts only, never payloads.
   * @default no logging
   */
  logger?: Logger;
}
