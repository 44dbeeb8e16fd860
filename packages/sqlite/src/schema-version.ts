import Database from "better-sqlite3";
import { LATEST_VERSION } from "./migrations";

/** The newest schema version this package's migrations create (a file above it is refused by `open()`). */
export const LATEST_SCHEMA_VERSION: number = LATEST_VERSION;

/**
 * Reads the schema version recorded in an existing database file, creating and changing nothing (for
 * tools that must not migrate or create a database, such as the `taskwire` CLI): `undefined` when the
 * file holds no Taskwire tables. Throws when the file does not exist.
 * @example
 * const version = readSchemaVersion("data/tasks.db"); // 4, or undefined for a foreign SQLite file
 */
export function readSchemaVersion(path: string): number | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'taskwire_migrations'")
      .get();
    if (table === undefined) return undefined;
    const version = db.prepare("SELECT max(version) FROM taskwire_migrations").pluck().get();
    return typeof version === "number" ? version : undefined;
  } finally {
    db.close();
  }
}
