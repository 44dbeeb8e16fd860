/**
 * Crash-harness parent: plans a run from a seed, runs the child through its lives (SIGKILLed at the
 * planned points, then restarted), snapshots the database and the execution counts after every life,
 * and checks the durability rules (see `verifyRun`).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type HarnessOptions, type LifeOutcome, type LifePlan, readCounts, runLife } from "./life";
import { createPrng } from "./prng";
import { type KillStyle, POINT_KINDS, type PointKind } from "./protocol";
import { verifyRun } from "./verify";

export type { HarnessOptions, LifePlan } from "./life";

/** Points of interest in a full, uninterrupted run (see worker.ts and pipeline-task.ts). */
export const POINTS_PER_FULL_RUN = Object.values(POINT_KINDS).reduce((a, b) => a + b, 0);

/**
 * Draws the lives of one run: a first life killed at a random point, 0-2 more crashes, then a final
 * life without a kill point. Half the kill points are uniform over all points; the other half first
 * pick a kind uniformly, so rare windows (inside a body, right after a checkpoint or the settlement
 * committed) are hit as often as frequent ones.
 */
export function planRun(seed: number): LifePlan[] {
  const rng = createPrng(seed);
  const kinds = Object.keys(POINT_KINDS) as PointKind[];
  const kill = (mode: LifePlan["mode"]): LifePlan => {
    // A replaying life reaches fewer new points; one that ends before its kill point simply completes.
    const shrink = mode === "start" ? 1 : 0.5;
    let killAt: string;
    if (rng.next() < 0.5) {
      killAt = `any:${rng.int(1, Math.ceil(POINTS_PER_FULL_RUN * shrink))}`;
    } else {
      const kind = kinds[rng.int(0, kinds.length - 1)] ?? "body";
      killAt = `${kind}:${rng.int(1, Math.ceil(POINT_KINDS[kind] * shrink))}`;
    }
    const style: KillStyle = rng.next() < 0.6 ? "freeze" : "run";
    return { mode, killAt, style, delayMs: style === "run" ? rng.int(0, 8) : 0 };
  };
  const lives = [kill("start")];
  const extra = rng.int(0, 2);
  for (let i = 0; i < extra; i++) lives.push(kill("resume"));
  lives.push({ mode: "resume", killAt: "none", style: "freeze", delayMs: 0 });
  return lives;
}

/** What one life did, and the durable state right after it ended. */
export interface LifeReport extends LifeOutcome {
  /** Ids of every task row in the database after this life ended. */
  taskIds: string[];
  /** Step keys with a committed checkpoint after this life ended (`label/key` for the flow workloads). */
  committed: string[];
  /** Executions of each step body so far (the counts file), after this life ended. */
  counts: Record<string, number>;
}

/** The final durable state of the task. */
export interface FinalState {
  task?: { status: string; result: string | null; attempt: number; lastSeq: number; claims: number };
  events: Array<{ seq: number; name: string; data: string }>;
  steps: string[];
}

/** A finished run: its plan as executed, its final state and every rule it broke. */
export interface RunReport {
  seed: number;
  dir: string;
  lives: LifeReport[];
  final: FinalState;
  violations: string[];
  durationMs: number;
}

/** Runs one seeded scenario end to end and returns its report (violations empty = durable). */
export function runScenario(seed: number, options: HarnessOptions): Promise<RunReport> {
  return runLives(seed, planRun(seed), options);
}

/** Runs the given lives on a fresh database (the task input is `{ seed }`) and verifies the outcome. */
export async function runLives(
  seed: number,
  plans: readonly LifePlan[],
  options: HarnessOptions,
): Promise<RunReport> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `taskwire-crash-${seed}-`));
  const dbPath = join(dir, "tasks.db");
  const countsFile = join(dir, "counts.log");
  const lives: LifeReport[] = [];
  for (const plan of plans) {
    const life = await runLife(plan, { workload: "pipeline", dbPath, countsFile, seed }, options);
    lives.push({ ...life, ...readSnapshot(dbPath, countsFile) });
    if (life.terminal !== undefined) break; // the task finished in this life: no more lives needed
  }
  const final = readFinal(dbPath, lives.at(-1)?.taskIds[0]);
  const violations = verifyRun(seed, lives, final);
  if (violations.length === 0 && !options.keep) rmSync(dir, { recursive: true, force: true });
  return { seed, dir, lives, final, violations, durationMs: Date.now() - began };
}

/**
 * The durable state right after a life ended, read through a separate connection: the task rows (one is
 * expected: later lives attach by idempotency key), committed step keys, and the execution counts.
 */
function readSnapshot(
  dbPath: string,
  countsFile: string,
): Pick<LifeReport, "taskIds" | "committed" | "counts"> {
  const counts = readCounts(countsFile);
  if (!existsSync(dbPath)) return { taskIds: [], committed: [], counts };
  const db = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    const taskIds = db.prepare("SELECT id FROM taskwire_tasks ORDER BY created_at").pluck().all() as string[];
    const committed = db
      .prepare("SELECT key FROM taskwire_steps WHERE task_id = ? ORDER BY position")
      .pluck()
      .all(taskIds[0] ?? "") as string[];
    return { taskIds, committed, counts };
  } finally {
    db.close();
  }
}

function readFinal(dbPath: string, taskId: string | undefined): FinalState {
  if (!taskId || !existsSync(dbPath)) return { events: [], steps: [] };
  const db = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    const task = db
      .prepare("SELECT status, result, attempt, last_seq AS lastSeq, claims FROM taskwire_tasks WHERE id = ?")
      .get(taskId) as FinalState["task"];
    const events = db
      .prepare("SELECT seq, name, data FROM taskwire_events WHERE task_id = ? ORDER BY seq")
      .all(taskId) as FinalState["events"];
    const steps = db
      .prepare("SELECT key FROM taskwire_steps WHERE task_id = ? ORDER BY position")
      .pluck()
      .all(taskId) as string[];
    return { task, events, steps };
  } finally {
    db.close();
  }
}

/** What `describeRun` prints: any run report (pipeline or flow). */
export interface DescribableRun {
  seed: number;
  dir: string;
  durationMs: number;
  lives: readonly LifeReport[];
  violations: readonly string[];
  /** Flow runs: the processes that delivered the signal, in order (and after which life each ran). */
  deliveries?: ReadonlyArray<LifeOutcome & { when: string; life: number }>;
  /** Flow runs: the workload and its width. */
  label?: string;
}

/** A human-readable account of a run, for failures and `--verbose`. */
export function describeRun(report: DescribableRun): string {
  const lines = [
    `${report.label ?? "pipeline"} seed ${report.seed} (${report.durationMs} ms, dir ${report.dir})`,
  ];
  const end = (life: LifeOutcome) =>
    life.killed
      ? `SIGKILL at ${life.killPoint ?? "?"}${life.style === "run" ? ` +${life.delayMs}ms` : ""}`
      : life.timedOut
        ? "TIMED OUT"
        : `exit ${life.exitCode} (${life.terminal ?? (life.signalled ? JSON.stringify(life.signalled) : "no terminal")})`;
  for (const [i, life] of report.lives.entries()) {
    lines.push(
      `  life ${i + 1} ${life.mode} killAt=${life.killAt} ${life.style}: ${end(life)}; committed [${life.committed.join(", ")}]; counts ${JSON.stringify(life.counts)}`,
    );
    lines.push(`    points: ${life.points.join(" ")}`);
    if (life.stderr.trim() !== "") lines.push(`    stderr: ${life.stderr.trim().slice(0, 2000)}`);
  }
  for (const delivery of report.deliveries ?? []) {
    lines.push(
      `  signal delivery ${delivery.when} life ${delivery.life} killAt=${delivery.killAt} ${delivery.style}: ${end(delivery)}`,
    );
    if (delivery.stderr.trim() !== "") lines.push(`    stderr: ${delivery.stderr.trim().slice(0, 2000)}`);
  }
  for (const v of report.violations) lines.push(`  VIOLATION: ${v}`);
  return lines.join("\n");
}
