import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NewTask, TaskStore } from "@taskwire/core/store";
import { type SqliteStoreOptions, sqliteStore } from "@taskwire/sqlite";
import { onTestFinished } from "vitest";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** A fresh temp directory, removed when the test finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "taskwire-sqlite-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store that is closed when the test finishes. */
export async function openStore(options: SqliteStoreOptions): Promise<TaskStore> {
  const store = sqliteStore(options);
  onTestFinished(() => store.close());
  await store.open();
  return store;
}

let ids = 0;
/** A queued (or, with `claimFor`, running) task spec at time 1000. */
export function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: `task-${process.pid}-${++ids}`,
    name: "demo.task",
    input: '{"n":1}',
    owner: "user-1",
    identity: null,
    parentId: null,
    runAt: 1000,
    now: 1000,
    ...overrides,
  };
}

/** Runs `test/fixtures/<name>.ts` in a child Node process (from source) and returns its stdout. */
export function runFixture(name: string, args: string[]): Promise<string> {
  const script = join(REPO_ROOT, "packages/sqlite/test/fixtures", `${name}.ts`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--conditions=@taskwire/source", "--import", "tsx", script, ...args],
      { cwd: REPO_ROOT, timeout: 30_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${name} failed: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}
