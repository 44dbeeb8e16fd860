import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LATEST_SCHEMA_VERSION, readSchemaVersion, sqliteStore } from "@taskwire/sqlite";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "taskwire-schema-version-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readSchemaVersion", () => {
  it("reads a migrated file's version, answers undefined for a foreign file, and creates nothing", async () => {
    const path = join(dir, "tasks.db");
    const store = sqliteStore({ path });
    await store.open();
    await store.close();
    expect(readSchemaVersion(path)).toBe(LATEST_SCHEMA_VERSION);

    const foreign = join(dir, "foreign.db");
    new Database(foreign).exec("CREATE TABLE notes (body TEXT)").close();
    expect(readSchemaVersion(foreign)).toBeUndefined();
    const tables = new Database(foreign).prepare("SELECT name FROM sqlite_master").pluck().all();
    expect(tables).toEqual(["notes"]);

    const missing = join(dir, "missing.db");
    expect(() => readSchemaVersion(missing)).toThrow();
    expect(existsSync(missing)).toBe(false);
  });
});
