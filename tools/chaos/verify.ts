import type { StopRecord } from "./cluster";
import type { DriverReport } from "./driver";
import type { LedgerEntry } from "./ledger";
import type { StoredState } from "./store-reader";
import { CHILD_TASK } from "./tasks";
import { verifyClients, verifyProbes } from "./verify-clients";
import { type LedgerExcuses, verifyLedger } from "./verify-ledger";
import { verifyTasks } from "./verify-tasks";

/** Everything a run produced, for {@link verifyChaos}. */
export interface ChaosEvidence {
  driver: DriverReport;
  state: StoredState;
  ledger: readonly LedgerEntry[];
  /** Ledger lines that did not parse. */
  torn: readonly string[];
  /** Every stop of a node process (the final graceful stops included: they may catch a body too). */
  stops: readonly StopRecord[];
  /** The stops of the chaos phase only (what the summary counts). */
  chaosStops: readonly StopRecord[];
  leaseLost: ReadonlyMap<number, ReadonlySet<string>>;
  /** Node processes started (first starts and restarts), and node slots. */
  starts: number;
  nodes: number;
}

/** The numbers of a run (the summary table). */
export interface ChaosStats {
  kills: number;
  gracefulStops: number;
  restarts: number;
  tasksStarted: number;
  children: number;
  tasksCompleted: number;
  stepsCommitted: number;
  walEvents: number;
  framesDelivered: number;
  clients: number;
  connections: number;
  reconnects: number;
  clientDrops: number;
  interruptedFrames: number;
  resumesAt204: number;
  signals: number;
  signalRepeats: number;
  probes: number;
  probes404: number;
  excused: LedgerExcuses;
  leaseLosses: number;
}

/**
 * Every invariant of the chaos run, each violation one precise message: starts, terminal states,
 * results and WALs, children and signals (`verifyTasks`); exactly-once step bodies (`verifyLedger`);
 * each client's frames equal to the WAL (`verifyClients`); nothing visible to a non-owner
 * (`verifyProbes`); plus the driver's own problems and torn ledger lines.
 */
export function verifyChaos(evidence: ChaosEvidence): { violations: string[]; stats: ChaosStats } {
  const { driver, state } = evidence;
  const ledger = verifyLedger(state.tasks, evidence.ledger, evidence);
  const violations = [
    ...driver.problems.map((p) => `driver: ${p}`),
    ...evidence.torn.map((line) => `ledger: torn line ${JSON.stringify(line)}`),
    ...verifyTasks(state, driver.starts, driver.signals),
    ...ledger.violations,
    ...verifyClients(driver.clients, state),
    ...verifyProbes(driver.probes, state),
  ];
  const sum = (f: (c: DriverReport["clients"][number]) => number) =>
    driver.clients.reduce((n, c) => n + f(c), 0);
  const stats: ChaosStats = {
    kills: evidence.chaosStops.filter((s) => s.kind === "SIGKILL").length,
    gracefulStops: evidence.chaosStops.filter((s) => s.kind === "SIGTERM").length,
    restarts: evidence.starts - evidence.nodes,
    tasksStarted: driver.starts.filter((s) => s.taskId).length,
    children: state.tasks.filter((t) => t.name === CHILD_TASK).length,
    tasksCompleted: state.tasks.filter((t) => t.status === "completed").length,
    stepsCommitted: state.tasks.reduce((n, t) => n + t.steps.length, 0),
    walEvents: state.tasks.reduce((n, t) => n + t.events.length, 0),
    framesDelivered: sum((c) => c.frames.length),
    clients: driver.clients.length,
    connections: sum((c) => c.connections),
    reconnects: sum((c) => c.reconnects),
    clientDrops: sum((c) => c.drops),
    interruptedFrames: sum((c) => c.interrupted),
    resumesAt204: driver.clients.filter((c) => c.checked204 === true).length,
    signals: driver.signals.length,
    signalRepeats: driver.signals.filter((s) => s.answers.length > 1).length,
    probes: driver.probes.requests,
    probes404: driver.probes.notFound,
    excused: ledger.excuses,
    leaseLosses: [...evidence.leaseLost.values()].reduce((n, set) => n + set.size, 0),
  };
  return { violations, stats };
}
