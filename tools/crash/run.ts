/**
 * The crash harness outside vitest, for long runs and for reproducing one seed with its full trace:
 *
 *   node --conditions=@taskwire/source --import tsx tools/crash/run.ts [--verbose]
 *
 * Same settings as the vitest suite: CRASH_RUNS (default 20), CRASH_FLOW_RUNS (default CRASH_RUNS / 6),
 * CRASH_SEED, CRASH_CONCURRENCY, CRASH_TSX. Exits 1 if any run broke a durability rule, printing each
 * failing run and its reproduce command.
 */
import { type FlowRunReport, runFlowScenario } from "./flow-harness";
import { describeRun, type RunReport, runScenario } from "./harness";
import { crashSettings, createLimiter, runSeed } from "./settings";
import { prepareWorkerCommand } from "./worker-command";

const verbose = process.argv.includes("--verbose");
const settings = crashSettings();
const limit = createLimiter(settings.concurrency);
const began = Date.now();
const total = settings.runs + settings.flowRuns;
process.stdout.write(
  `crash harness: ${settings.runs} pipeline + ${settings.flowRuns} flow runs from CRASH_SEED=${settings.seed}, ${settings.concurrency} at a time\n`,
);
const command = await prepareWorkerCommand();
const failed: Array<RunReport | FlowRunReport> = [];
let done = 0;
let kills = 0;
const record = (report: RunReport | FlowRunReport) => {
  done += 1;
  kills += report.lives.filter((life) => life.killed).length;
  if (report.violations.length > 0) failed.push(report);
  const status = report.violations.length > 0 ? "FAIL" : "ok";
  if (verbose || report.violations.length > 0) process.stdout.write(`${describeRun(report)}\n`);
  else
    process.stdout.write(
      `[${done}/${total}] ${"label" in report ? report.label : "pipeline"} seed ${report.seed} ${status}\n`,
    );
};
try {
  await Promise.all([
    ...Array.from({ length: settings.runs }, (_, i) =>
      limit(async () => record(await runScenario(runSeed(settings, i), { command }))),
    ),
    ...Array.from({ length: settings.flowRuns }, (_, i) =>
      limit(async () => record(await runFlowScenario(runSeed(settings, i), "flow", { command }))),
    ),
  ]);
} finally {
  command.dispose();
}
const seconds = ((Date.now() - began) / 1000).toFixed(1);
process.stdout.write(`${done} runs, ${kills} SIGKILLs, ${failed.length} failed, ${seconds} s\n`);
for (const report of failed) {
  process.stdout.write(
    `  reproduce: CRASH_SEED=${report.seed} CRASH_RUNS=1 node --conditions=@taskwire/source --import tsx tools/crash/run.ts --verbose\n`,
  );
}
process.exit(failed.length > 0 ? 1 : 0);
