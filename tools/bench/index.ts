/**
 * `npm run bench`: every scenario of the benchmark suite in one run — our figure, the raw limit measured
 * in the same run, their ratio and the target — printed as one table and written as JSON:
 *
 *   npm run bench [-- --only sqlite,postgres] [--repeats 3] [--quick] [--out file.json]
 *                    [--duration 1500] [--starters 16] [--url postgres://…]
 *
 * Sections (one scenario file each under sections/) are listed in config.ts; tools/README.md explains
 * every row.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { disposeChildScripts } from "./child-script";
import { parseConfig, type SectionName } from "./config";
import { collectEnvironment, describeEnvironment } from "./environment";
import { formatTable, type Row } from "./report";
import type { Section, SectionResult } from "./section";
import { flowsSection } from "./sections/flows";
import { observeSection } from "./sections/observe";
import { postgresSection } from "./sections/postgres";
import { recoverySection } from "./sections/recovery";
import { replaySection } from "./sections/replay";
import { sqliteSection } from "./sections/sqlite";
import { sseSection } from "./sections/sse";
import { sseLatencySection } from "./sections/sse-latency";
import { stepsSection } from "./sections/steps";
import { wakeupSection } from "./sections/wakeup";

const SECTIONS: Record<SectionName, Section> = {
  sqlite: sqliteSection,
  observe: observeSection,
  steps: stepsSection,
  postgres: postgresSection,
  "sse-latency": sseLatencySection,
  sse: sseSection,
  replay: replaySection,
  wakeup: wakeupSection,
  recovery: recoverySection,
  flows: flowsSection,
};

/** Sections that talk to PostgreSQL (the environment then records its version and settings). */
const USES_POSTGRES: ReadonlySet<SectionName> = new Set(["steps", "postgres", "sse-latency", "wakeup"]);

const config = parseConfig(process.argv.slice(2));
const log = (line: string) => process.stdout.write(`${line}\n`);
const environment = await collectEnvironment(
  config.pgUrl,
  config.sections.some((s) => USES_POSTGRES.has(s)),
);
const startedAt = Date.now();
const rows: Row[] = [];
const results: Record<string, Partial<Omit<SectionResult, "rows">> & { seconds: number; error?: string }> =
  {};
for (const name of config.sections) {
  const dir = mkdtempSync(join(tmpdir(), `taskwire-bench-${name}-`));
  const t0 = Date.now();
  log(`${name}…`);
  try {
    const result = await SECTIONS[name].run({ config, dir, log });
    rows.push(...result.rows);
    results[name] = {
      samples: result.samples,
      details: result.details,
      seconds: (Date.now() - t0) / 1000,
    };
  } catch (error) {
    // One broken section must not cost the others' figures: report it, go on, exit 1 at the end.
    log(`  ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    results[name] = { seconds: (Date.now() - t0) / 1000, error: String(error) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
await disposeChildScripts();
const seconds = (Date.now() - startedAt) / 1000;
const loadAtEnd = loadavg().map((l) => Number(l.toFixed(2)));

log("");
for (const line of describeEnvironment(environment)) log(line);
log(
  `median of ${config.repeats} repeat${config.repeats === 1 ? "" : "s"}${config.quick ? " (--quick: tiny sizes, figures meaningless)" : ""}; ${seconds.toFixed(0)} s; load at the end ${loadAtEnd.join(" ")}`,
);
log("");
for (const line of formatTable(rows)) log(line);
const withTarget = rows.filter((r) => r.met !== undefined);
log("");
log(`targets met: ${withTarget.filter((r) => r.met).length} of ${withTarget.length}`);

mkdirSync(dirname(config.out), { recursive: true });
writeFileSync(
  config.out,
  `${JSON.stringify({ environment, config, seconds, loadAtEnd, rows, sections: results }, null, 2)}\n`,
);
log(`JSON: ${relative(process.cwd(), config.out) || config.out}`);
const failed = Object.entries(results).filter(([, r]) => r.error !== undefined);
if (failed.length > 0) {
  log(`sections failed: ${failed.map(([name]) => name).join(", ")}`);
  process.exitCode = 1;
}
