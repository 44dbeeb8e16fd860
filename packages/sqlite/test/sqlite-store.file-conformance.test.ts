import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TaskStore } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { describeStoreConformance } from "@taskwire/testing";
import { afterAll } from "vitest";

// The whole suite again on real files, with the cross-instance group enabled: the second instance is a
// second connection on the same file, as another process would open it.
const dir = mkdtempSync(join(tmpdir(), "taskwire-sqlite-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const paths = new WeakMap<TaskStore, string>();
let files = 0;

describeStoreConformance(
  "sqlite (file, two connections)",
  () => {
    const path = join(dir, `tasks-${files++}.db`);
    const store = sqliteStore({ path, pollIntervalMs: 20 });
    paths.set(store, path);
    return store;
  },
  {
    secondInstance: (first) => sqliteStore({ path: paths.get(first)!, pollIntervalMs: 20 }),
    ringTimeoutMs: 2_000,
  },
);
