import { chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync } from "node:fs";
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
    if (isFilePath(options.path)) prepareDatabasePath(options.path);
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

/**
 * Makes the database file's directory (owner-only: the file holds every task's inputs and results) and
 * refuses a database file, or its directory, that is a symbolic link: a link planted in a shared or
 * world-writable place could point the store at someone else's file.
 */
export function prepareDatabasePath(path: string): void {
  const dir = dirname(path);
  refuseSymlink(dir, "directory");
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // mkdir's mode is filtered by the umask
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) refuseSymlink(file, "file");
}

function refuseSymlink(path: string, what: "file" | "directory"): void {
  let isLink = false;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    return; // does not exist yet
  }
  if (isLink) {
    throw new Error(
      `Refusing to open the SQLite database: the ${what} ${path} is a symbolic link (to ${readlinkSync(path)}). Point the store at the real path.`,
    );
  }
}

function isFilePath(path: string): boolean {
  return path !== "" && path !== ":memory:" && !path.startsWith("file:");
}
