import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStore } from "@taskwire/sqlite";
import { afterEach, describe, expect, it } from "vitest";

const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "tw-path-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the SQLite file's path", () => {
  it("creates a missing directory owner-only (0700)", async () => {
    const dir = join(temp(), "data", "taskwire");
    const store = sqliteStore({ path: join(dir, "tasks.db") });
    await store.open();
    await store.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "tasks.db")).isFile()).toBe(true);
  });

  it("refuses a database file that is a symbolic link, and writes nothing through it", async () => {
    const root = temp();
    const target = join(root, "elsewhere.db");
    writeFileSync(target, "");
    mkdirSync(join(root, "data"));
    const link = join(root, "data", "tasks.db");
    symlinkSync(target, link);
    const store = sqliteStore({ path: link });
    await expect(store.open()).rejects.toThrow(/tasks\.db is a symbolic link \(to .*elsewhere\.db\)/);
    expect(statSync(target).size).toBe(0);
  });

  it("refuses a directory that is a symbolic link", async () => {
    const root = temp();
    mkdirSync(join(root, "real"));
    symlinkSync(join(root, "real"), join(root, "linked"));
    const store = sqliteStore({ path: join(root, "linked", "tasks.db") });
    await expect(store.open()).rejects.toThrow(/directory .*linked is a symbolic link/);
  });

  it("leaves an existing directory's permissions alone", async () => {
    const dir = join(temp(), "shared");
    mkdirSync(dir, { mode: 0o755 });
    const store = sqliteStore({ path: join(dir, "tasks.db") });
    await store.open();
    await store.close();
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });
});
