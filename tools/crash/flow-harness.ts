/**
 * Crash harness for flows: a parent fans out children (each with steps and emits), joins them and, in the
 * `flow` workload, waits for a signal that a separate process delivers at a random time — while the
 * worker runs, or between its lives while no worker runs — and that is itself SIGKILLed around its write
 * and re-delivered with the same idempotency key. The workers are killed as in the pipeline harness, and
 * also around spawns and while the parent waits (see `flowPointKinds`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlowState, flowSnapshot, parentIdOf, readFlowState } from "./flow-state";
import { verifyFlowRun } from "./flow-verify";
import type { LifeReport } from "./harness";
import { type HarnessOptions, type LifeControl, type LifeOutcome, type LifePlan, runLife } from "./life";
import { createPrng } from "./prng";
import { flowPointKinds, type KillStyle } from "./protocol";

/** When and how the signal is delivered. */
export interface SignalPlan {
  /** The life (0-based) during which, or before which, the signal is sent. */
  life: number;
  /** `gap`: before that life, while no worker runs; a number n: when that life reports its n-th point. */
  at: "gap" | number;
  /** The first delivery's kill point: just before its write (`deliver:1`), just after it committed (`delivered:1`). */
  killAt: "none" | "deliver:1" | "delivered:1";
  style: KillStyle;
  delayMs: number;
}

/** One flow run: the workload, how many children, the worker lives and the signal. */
export interface FlowPlan {
  workload: "flow" | "waves";
  width: number;
  lives: LifePlan[];
  /** `flow` only. */
  signal?: SignalPlan;
}

/** Point kinds only flows have. */
const FLOW_ONLY_KINDS: readonly string[] = ["spawn", "spawned", "park", "parked", "await-signal"];

/** One process that delivered (or tried to deliver) the signal, and when: during, before or after which life (1-based). */
export type Delivery = LifeOutcome & { when: "during" | "before" | "after"; life: number };

/** A finished flow run. */
export interface FlowRunReport {
  seed: number;
  label: string;
  dir: string;
  plan: FlowPlan;
  lives: LifeReport[];
  deliveries: Delivery[];
  final: FlowState;
  violations: string[];
  durationMs: number;
}

/** The token the signal carries and the idempotency key every delivery of a run uses. */
export const signalFor = (seed: number) => ({ token: `token-${seed}`, idempotencyKey: `signal-${seed}` });

/**
 * Draws a flow run: 2-4 children; a first life killed at a random point, 0-2 more, a last without a kill
 * point (a third of the kill points uniform over all points, a third in a flow window, a third in a
 * uniformly drawn other kind); the signal
 * at a random point of a random life or before it, its first delivery killed before or after its write
 * in 60% of runs.
 */
export function planFlowRun(seed: number, workload: "flow" | "waves"): FlowPlan {
  const rng = createPrng(seed ^ 0x5f10);
  const width = rng.int(2, 4);
  const kinds = flowPointKinds(width, workload === "flow");
  const names = (Object.keys(kinds) as Array<keyof typeof kinds>).filter((k) => kinds[k] > 0);
  const total = Object.values(kinds).reduce((a, b) => a + b, 0);
  const style = (): { style: KillStyle; delayMs: number } =>
    rng.next() < 0.6 ? { style: "freeze", delayMs: 0 } : { style: "run", delayMs: rng.int(0, 8) };
  const flowKinds = names.filter((k) => FLOW_ONLY_KINDS.includes(k));
  const otherKinds = names.filter((k) => !FLOW_ONLY_KINDS.includes(k));
  const kill = (mode: LifePlan["mode"]): LifePlan => {
    const shrink = mode === "start" ? 1 : 0.6;
    const draw = rng.next();
    let killAt: string;
    if (draw < 1 / 3) killAt = `any:${rng.int(1, Math.ceil(total * shrink))}`;
    else {
      // A third of the kills go to the flow windows (spawn writes, parking, the signal wait): they are
      // few among many points, so a uniform draw would almost never reach them.
      const pool = draw < 2 / 3 ? flowKinds : otherKinds;
      const kind = pool[rng.int(0, pool.length - 1)] ?? "body";
      killAt = `${kind}:${rng.int(1, Math.ceil(kinds[kind] * shrink))}`;
    }
    return { mode, killAt, ...style() };
  };
  const lives = [kill("start")];
  const extra = rng.int(0, 2);
  for (let i = 0; i < extra; i++) lives.push(kill("resume"));
  lives.push({ mode: "resume", killAt: "none", style: "freeze", delayMs: 0 });
  if (workload === "waves") return { workload, width, lives };
  const life = rng.int(0, lives.length - 1);
  const at = life > 0 && rng.next() < 0.4 ? "gap" : rng.int(1, total);
  const r = rng.next();
  const killAt = r < 0.4 ? "none" : r < 0.7 ? "deliver:1" : "delivered:1";
  return { workload, width, lives, signal: { life, at, killAt, ...style() } };
}

/** Runs one seeded flow scenario end to end. */
export function runFlowScenario(
  seed: number,
  workload: "flow" | "waves",
  options: HarnessOptions,
): Promise<FlowRunReport> {
  return runFlowLives(seed, planFlowRun(seed, workload), options);
}

/**
 * Runs the planned lives on a fresh database and verifies the outcome. The signal goes out as planned,
 * with two rules that keep a run from idling forever: a life that sees the parent park on the signal
 * before the planned time is SIGKILLed there (and the signal follows while no worker runs), and a life
 * never starts while the parent already waits for a signal nobody sent.
 */
export async function runFlowLives(
  seed: number,
  plan: FlowPlan,
  options: HarnessOptions,
): Promise<FlowRunReport> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `taskwire-crash-${plan.workload}-${seed}-`));
  const dbPath = join(dir, "tasks.db");
  const countsFile = join(dir, "counts.log");
  const base = { workload: plan.workload, dbPath, countsFile, seed, width: plan.width };
  const lives: LifeReport[] = [];
  const deliveries: Delivery[] = [];
  const signal = plan.signal;
  let delivered = signal === undefined;
  let deliveryBroke = false;
  let delivering: Promise<void> | undefined;
  const harnessErrors: string[] = [];

  /** Delivers the signal: the planned (possibly killed) attempt, then re-deliveries until one ends by itself. */
  const deliver = (when: Delivery["when"], life: number): Promise<void> => {
    if (delivered || !signal) return Promise.resolve();
    delivering ??= (async () => {
      try {
        await attemptDelivery(when, life, signal);
      } catch (error) {
        harnessErrors.push(`signal delivery failed in the harness: ${String(error)}`);
        deliveryBroke = true;
      }
    })().finally(() => {
      delivering = undefined;
    });
    return delivering;
  };
  const attemptDelivery = async (when: Delivery["when"], life: number, spec: SignalPlan) => {
    const taskId = parentIdOf(readFlowState(dbPath));
    if (taskId === undefined) return; // no parent yet: a later trigger sends it
    const config = { ...base, workload: "signal" as const, signal: { taskId, ...signalFor(seed) } };
    let attempt: LifePlan = { mode: "resume", killAt: spec.killAt, style: spec.style, delayMs: spec.delayMs };
    for (let i = 0; i < 5 && !delivered; i++) {
      const outcome = await runLife(attempt, config, options);
      deliveries.push({ ...outcome, when, life });
      if (!outcome.killed) {
        delivered = true;
        deliveryBroke = outcome.signalled === undefined;
      }
      // Killed: deliver again with the same idempotency key, as a client retrying a lost request would.
      attempt = { mode: "resume", killAt: "none", style: "freeze", delayMs: 0 };
    }
  };

  for (const [k, lifePlan] of plan.lives.entries()) {
    if (signal && !delivered) {
      const state = readFlowState(dbPath);
      const parent = state.tasks.find((t) => t.label === "parent");
      // Joined and parked: the only thing it can wait for now is the signal.
      const waitsForSignal = parent?.status === "waiting" && parent.steps.some((s) => s.key === "join#0");
      if ((signal.life === k && signal.at === "gap") || waitsForSignal) await deliver("before", k + 1);
    }
    let points = 0;
    const onPoint = (name: string, control: LifeControl) => {
      points += 1;
      if (!signal || delivered || delivering) return;
      if (name === "parked:parent/signal") {
        // The parent waits for a signal not sent yet: send it now if it is due in this life, else end
        // this life here (it could only idle) and let the signal arrive while no worker runs.
        if (signal.life <= k) void deliver("during", k + 1);
        else control.kill(name);
      } else if (signal.life === k && points === signal.at) void deliver("during", k + 1);
    };
    const life = await runLife(lifePlan, base, options, onPoint);
    while (delivering) await delivering;
    lives.push({ ...life, ...flowSnapshot(readFlowState(dbPath), countsFile) });
    if (life.terminal !== undefined || life.timedOut || deliveryBroke) break;
    if (signal && !delivered && signal.life === k) await deliver("after", k + 1); // its life died first
  }

  const final = readFlowState(dbPath);
  const violations = [
    ...harnessErrors,
    ...verifyFlowRun({ seed, plan, lives, deliveries, final, ...signalFor(seed) }),
  ];
  if (violations.length === 0 && !options.keep) rmSync(dir, { recursive: true, force: true });
  const label = `${plan.workload} (width ${plan.width})`;
  return { seed, label, dir, plan, lives, deliveries, final, violations, durationMs: Date.now() - began };
}
