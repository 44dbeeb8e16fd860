import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../bundled-script";
import { SECTION_NAMES } from "./config";
import type { Row } from "./report";

/** Every row the suite must produce (section.id); a scenario dropped or renamed fails here. */
const EXPECTED_ROWS = [
  ...["normal", "full"].flatMap((level) =>
    ["1", "n"].flatMap((s) => [3, 5].map((c) => `sqlite.${level}.${s}-starters.vs-${c}-commit`)),
  ),
  "sqlite.full-vs-normal",
  "observe.metrics",
  "observe.tracing",
  "steps.sqlite.p50",
  "steps.sqlite.p99",
  "steps.postgres.p50",
  "steps.postgres.p99",
  ...["1", "n"].flatMap((s) => [
    `postgres.${s}-starters.vs-5-commit`,
    `postgres.${s}-starters.vs-3-commit`,
    `postgres.${s}-starters.round-trips`,
  ]),
  "sse-latency.sqlite.p50",
  "sse-latency.sqlite.p99",
  "sse-latency.postgres.p50",
  "sse-latency.postgres.p99",
  "sse.one-client",
  "sse.streams.time",
  "sse.streams.rss",
  "replay.small",
  "replay.large",
  "wakeup.p50",
  "wakeup.p99",
  "recovery.total",
  "recovery.beyond-lease",
  "flows.spawn-result.p50",
  "flows.spawn-result.p99",
  "flows.fan-out",
];

const dir = mkdtempSync(join(tmpdir(), "taskwire-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run bench -- --quick", () => {
  it("runs every section and writes finite figures for every scenario", async () => {
    const out = join(dir, "bench.json");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--conditions=@taskwire/source", "--import", "tsx", "tools/bench/index.ts", "--quick", "--out", out],
      { cwd: REPO_ROOT, maxBuffer: 16 * 2 ** 20 },
    );
    expect(stdout).toContain("targets met:");
    const result = JSON.parse(readFileSync(out, "utf8")) as {
      environment: { node: string; sqlite: string; postgres?: Record<string, string>; cpus: number };
      rows: Row[];
      sections: Record<string, unknown>;
    };
    expect(Object.keys(result.sections)).toEqual([...SECTION_NAMES]);
    expect(result.environment.sqlite).toMatch(/^3\./);
    expect(result.environment.postgres?.server_version).toBeTruthy();
    expect(result.rows.map((r) => r.id).sort()).toEqual([...EXPECTED_ROWS].sort());
    for (const r of result.rows) {
      expect(Number.isFinite(r.ours), `${r.id} ours`).toBe(true);
      if (r.limit !== undefined) {
        expect(Number.isFinite(r.limit), `${r.id} limit`).toBe(true);
        expect(Number.isFinite(r.ratio), `${r.id} ratio`).toBe(true);
      }
      if (r.target) expect(typeof r.met, `${r.id} met`).toBe("boolean");
      // Every row printed, one line each.
      expect(stdout).toContain(r.scenario);
    }
  }, 120_000);
});
