/** One process life of the crash harness: spawn the child, read its reports, SIGKILL it at its point. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "./paths";
import type { KillStyle, LifeConfig, WorkerMessage } from "./protocol";
import type { WorkerCommand } from "./worker-command";

/** One process life in a plan. */
export interface LifePlan {
  mode: "start" | "resume";
  /** The kill point: `any:<n>`, `<kind>:<n>`, `=<point name>` or `none` (see `createReporter`). */
  killAt: string;
  style: KillStyle;
  /** For `run`: how long after the point the SIGKILL is sent. */
  delayMs: number;
}

/** How one life ended and what it reported. */
export interface LifeOutcome extends LifePlan {
  /** The point the kill was aimed at (reached), if any. */
  killPoint?: string;
  killed: boolean;
  timedOut: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  started?: { taskId: string; created: boolean };
  terminal?: string;
  /** Signal workload: what the delivery answered. */
  signalled?: { index: number; duplicate: boolean };
  points: string[];
  stderr: string;
}

/** How the child is started and watched. */
export interface HarnessOptions {
  /** `node` arguments that start the worker (see `prepareWorkerCommand`). */
  command: WorkerCommand;
  /** Deadline of one life. @default 20000 */
  lifeTimeoutMs?: number;
  /** Keep the temp dir even when the run passed. @default false */
  keep?: boolean;
}

/** What a point observer may do to the running life. */
export interface LifeControl {
  /** SIGKILLs the child now, recording `point` as the kill point if none was planned yet. */
  kill(point: string): void;
}

/** Spawns the child for one life and kills it at the planned point; `onPoint` sees every point. */
export function runLife(
  plan: LifePlan,
  config: Omit<LifeConfig, "mode" | "killAt" | "style">,
  options: HarnessOptions,
  onPoint?: (name: string, control: LifeControl) => void,
): Promise<LifeOutcome> {
  const life: LifeConfig = { ...config, mode: plan.mode, killAt: plan.killAt, style: plan.style };
  const child = spawn(process.execPath, [...options.command.args, JSON.stringify(life)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "test" },
  });
  const outcome: LifeOutcome = {
    ...plan,
    killed: false,
    timedOut: false,
    exitCode: null,
    signal: null,
    points: [],
    stderr: "",
  };
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    if (outcome.stderr.length < 20_000) outcome.stderr += chunk;
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const control: LifeControl = {
    kill(point) {
      outcome.killPoint ??= point;
      kill();
    },
  };
  const deadline = setTimeout(() => {
    outcome.timedOut = true;
    kill();
  }, options.lifeTimeoutMs ?? 20_000);
  readReports(child, (message) => {
    if (message.type === "point") {
      outcome.points.push(message.name);
      if (message.kill) {
        outcome.killPoint ??= message.name;
        if (plan.style === "freeze" || plan.delayMs === 0) kill();
        else setTimeout(kill, plan.delayMs);
      }
      onPoint?.(message.name, control);
    } else if (message.type === "started") {
      outcome.started = { taskId: message.taskId, created: message.created };
    } else if (message.type === "signalled") {
      outcome.signalled = { index: message.index, duplicate: message.duplicate };
    } else {
      outcome.terminal = message.name;
    }
  });
  return new Promise((resolveLife) => {
    child.on("close", (code, signal) => {
      clearTimeout(deadline);
      outcome.exitCode = code;
      outcome.signal = signal;
      // `kill()` may have raced a natural exit; what counts is how the process actually ended.
      outcome.killed = signal === "SIGKILL";
      resolveLife(outcome);
    });
  });
}

function readReports(child: ChildProcess, onMessage: (message: WorkerMessage) => void): void {
  const stream = child.stdio[3];
  if (!stream || !("on" in stream)) throw new Error("crash worker has no report pipe");
  const lines = createInterface({ input: stream as NodeJS.ReadableStream });
  lines.on("line", (line) => {
    if (line.trim() !== "") onMessage(JSON.parse(line) as WorkerMessage);
  });
}

/** Executions of each step body so far: the counts file, one line per execution. */
export function readCounts(countsFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  if (existsSync(countsFile)) {
    for (const line of readFileSync(countsFile, "utf8").split("\n")) {
      if (line !== "") counts[line] = (counts[line] ?? 0) + 1;
    }
  }
  return counts;
}
