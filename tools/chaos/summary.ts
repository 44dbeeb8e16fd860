import type { ChaosReport } from "./harness";

/** The run's summary as a two-column table (what `run.ts` prints and the README quotes). */
export function formatSummary(report: ChaosReport): string {
  const s = report.stats;
  const rows: Array<[string, string]> = [
    ["store", report.store],
    ["seed", String(report.seed)],
    [
      "duration",
      `${(report.durationMs / 1000).toFixed(1)} s in all (chaos and settling ${(report.chaosMs / 1000).toFixed(1)} s)`,
    ],
    ["nodes", String(report.nodes)],
    ["kills (SIGKILL) survived", String(s.kills)],
    ["graceful stops (SIGTERM)", String(s.gracefulStops)],
    ["node restarts", String(s.restarts)],
    ["tasks started / children", `${s.tasksStarted} / ${s.children}`],
    ["tasks completed", `${s.tasksCompleted} of ${s.tasksStarted + s.children}`],
    ["steps committed", String(s.stepsCommitted)],
    [
      "step re-runs (in flight at a kill / lease lost)",
      `${s.excused.inFlightAtStop} / ${s.excused.leaseLost}`,
    ],
    ["WAL events", String(s.walEvents)],
    ["events delivered over SSE", String(s.framesDelivered)],
    ["SSE clients / connections", `${s.clients} / ${s.connections}`],
    ["client reconnects (dropped on purpose)", `${s.reconnects} (${s.clientDrops})`],
    ["interrupted frames / 204 at the end", `${s.interruptedFrames} / ${s.resumesAt204}`],
    ["signals (sent twice)", `${s.signals} (${s.signalRepeats})`],
    ["non-owner probes (404)", `${s.probes} (${s.probes404})`],
    ["violations", String(report.violations.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** The violations, at most `limit` of them, one per line. */
export function formatViolations(report: ChaosReport, limit = 50): string {
  const shown = report.violations.slice(0, limit).map((v) => `  - ${v}`);
  if (report.violations.length > limit) shown.push(`  … and ${report.violations.length - limit} more`);
  const kept = [`kept: ${report.dir}`, ...(report.schema ? [`PostgreSQL schema: ${report.schema}`] : [])];
  const errors = report.nodeErrors.slice(0, 20).map((e) => `  ${e}`);
  return [
    `${report.violations.length} violation(s), seed ${report.seed}:`,
    ...shown,
    ...kept,
    ...(errors.length > 0 ? ["node error lines:", ...errors] : []),
  ].join("\n");
}
