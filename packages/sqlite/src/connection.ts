import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** How the store gets its connection and which durability it asks of SQLite. */
export interface ConnectionOptions {
  path: string;
  synchronous: "NORMAL" | "FULL";
  busyTimeoutMs: number;
  database?: Database.Database;
}

/** An open connection and whether the store owns it (and so closes it). */
export interface Connection {
  db: Database.Database;
  owned: boolean;
}

/**
 * Opens (or adopts) the connection and sets the pragmas every store connection needs: WAL, the chosen
 * `synchronous` level, a busy timeout so a second process waits for the write lock instead of failing,
 * and foreign keys.
 */
export function openConnection(options: ConnectionOptions): Connection {
  const owned = options.database === undefined;
  let db = options.database;
  if (!db) {
    if (isFilePath(options.path)) mkdirSync(dirname(options.path), { recursive: true });
    db = new Database(options.path, { timeout: options.busyTimeoutMs });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
    // Switching to WAL is persistent in the file; on an already-WAL file this is a no-op.
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
    db.pragma("foreign_keys = ON");
  } catch (error) {
    if (owned) db.close();
    throw error;
  }
  return { db, owned };
}

function isFilePath(path: string): boolean {
  return path !== "" && path !== ":memory:" && !path.startsWith("file:");
}
