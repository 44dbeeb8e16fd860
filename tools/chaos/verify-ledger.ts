import type { StopRecord } from "./cluster";
import type { LedgerEntry } from "./ledger";
import type { StoredTask } from "./store-reader";
import { bodyKeys, PARENT_TASK } from "./tasks";

/** Why a step body may legitimately have run more than once. */
export interface LedgerExcuses {
  /** Runs in flight (before the checkpoint committed) in a process that was then killed or stopped. */
  inFlightAtStop: number;
  /** Runs by a process that logged `task.lease_lost` for the task (another node took it over). */
  leaseLost: number;
}

/** What the ledger rule needs besides the ledger itself. */
export interface LedgerContext {
  stops: readonly StopRecord[];
  /** pid → task ids whose lease that process logged as lost. */
  leaseLost: ReadonlyMap<number, ReadonlySet<string>>;
}

/**
 * Exactly-once of step bodies, from the ledger (written by each body before anything else, outside the
 * database) against the checkpoints (the commit). Each checkpoint's output carries the pid of the run
 * that committed it. For every body key of a task:
 * - the checkpoint exists, and the committing process wrote a ledger line before the checkpoint's time;
 * - every OTHER line is excused only if its process was stopped (SIGKILL/SIGTERM) after writing it and
 *   wrote it before the checkpoint committed — the body was in flight at the crash — or if its process
 *   logged `task.lease_lost` for the task. A line written after the checkpoint by a process that still
 *   held the task is a completed step run again: a violation.
 * Lines of unknown keys, spawn lines of children that do not exist, and torn lines are violations too.
 */
export function verifyLedger(
  tasks: readonly StoredTask[],
  entries: readonly LedgerEntry[],
  context: LedgerContext,
): { violations: string[]; excuses: LedgerExcuses } {
  const violations: string[] = [];
  const excuses: LedgerExcuses = { inFlightAtStop: 0, leaseLost: 0 };
  const byTask = new Map<string, LedgerEntry[]>();
  for (const entry of entries) {
    const list = byTask.get(entry.taskId);
    if (list) list.push(entry);
    else byTask.set(entry.taskId, [entry]);
  }
  const stopsByPid = new Map(context.stops.map((stop) => [stop.pid, stop]));
  const known = new Set(tasks.map((task) => task.id));
  for (const taskId of byTask.keys())
    if (!known.has(taskId)) violations.push(`ledger: lines for task ${taskId}, which is not in the store`);

  for (const task of tasks) {
    const label = `${task.name} ${task.id}`;
    const lines = byTask.get(task.id) ?? [];
    const keys = bodyKeys(task.name, task.input as { steps?: number });
    for (const entry of lines) {
      if (entry.kind === "step" && !keys.includes(entry.key))
        violations.push(`ledger: ${label} ran a body "${entry.key}" it does not have (pid ${entry.pid})`);
    }
    if (task.name === PARENT_TASK) {
      const width = (task.input as { width: number }).width;
      const spawned = new Set(lines.filter((e) => e.kind === "spawn").map((e) => Number(e.key)));
      for (const i of spawned)
        if (!(i >= 0 && i < width)) violations.push(`ledger: ${label} spawned child #${i} of ${width}`);
    }
    if (task.status !== "completed") continue; // reported by the task rule; its last step may not exist
    for (const key of keys) {
      const runs = lines.filter((e) => e.kind === "step" && e.key === key);
      const checkpoint = task.steps.find((s) => s.key === key);
      if (!checkpoint) {
        violations.push(`ledger: ${label} completed without a checkpoint "${key}"`);
        continue;
      }
      const committer = (checkpoint.output as { pid?: unknown } | null)?.pid;
      const own = runs.findIndex((e) => e.pid === committer && e.at <= checkpoint.at);
      if (own < 0) {
        violations.push(
          `ledger: ${label} step "${key}" was committed by pid ${String(committer)} at ${checkpoint.at}, ` +
            `but that process wrote no ledger line for it before then (lines: ${describe(runs)})`,
        );
        continue;
      }
      runs.forEach((run, i) => {
        if (i === own) return;
        if (context.leaseLost.get(run.pid)?.has(task.id)) {
          excuses.leaseLost += 1;
          return;
        }
        const stop = stopsByPid.get(run.pid);
        if (stop && run.at <= stop.exitedAt && run.at <= checkpoint.at) {
          excuses.inFlightAtStop += 1;
          return;
        }
        violations.push(
          `exactly-once: ${label} step "${key}" ran again in pid ${run.pid} at ${run.at}` +
            (run.at > checkpoint.at ? `, after its checkpoint committed at ${checkpoint.at}` : "") +
            ` (committed by pid ${String(committer)}; ${stop ? `pid ${run.pid} was ${stop.kind}ed at ${stop.at}` : `pid ${run.pid} was never stopped`}, ` +
            `no lease lost; all runs: ${describe(runs)})`,
        );
      });
    }
  }
  return { violations, excuses };
}

const describe = (runs: readonly LedgerEntry[]) =>
  runs.map((r) => `pid ${r.pid} at ${r.at}`).join(", ") || "none";
