import { type ProcessExit, type ServerProcess, spawnServer } from "@taskwire/testing/process";
import type { NodeCommand } from "./node-command";
import { REPO_ROOT } from "./node-command";
import type { NodeConfig } from "./node-config";

/** How a node was stopped by the harness. */
export type StopKind = "SIGKILL" | "SIGTERM";

/** One stop of a node process, as the verifier needs it. */
export interface StopRecord {
  node: string;
  pid: number;
  kind: StopKind;
  /** Epoch ms taken right BEFORE the signal was sent: nothing the process commits is earlier-dated and later. */
  at: number;
  /** Epoch ms once the process had exited. */
  exitedAt: number;
  exit: ProcessExit;
}

/** A node slot: one process at a time, restarted after each stop. */
export interface NodeSlot {
  readonly name: string;
  proc: ServerProcess | undefined;
  url: string | undefined;
  state: "starting" | "up" | "stopping" | "down";
  /** Processes started in this slot so far. */
  starts: number;
}

/** Options of {@link Cluster}. */
export interface ClusterOptions {
  command: NodeCommand;
  nodes: number;
  config: (name: string) => NodeConfig;
  /** How long a node may take to listen. @default 30000 */
  startTimeoutMs?: number;
  /** Told when a node logs a lost lease (progress output). */
  onLeaseLost?: (node: string, pid: number, taskId: string) => void;
}

/**
 * The chaos cluster: `nodes` slots, each running one node process at a time. It keeps what the verifier
 * needs from the processes themselves: every stop (pid, signal, when), every `task.lease_lost` a node
 * logged (pid → task ids), and error lines for the report.
 */
export class Cluster {
  readonly slots: NodeSlot[];
  readonly stops: StopRecord[] = [];
  /** pid → ids of the tasks whose lease that process logged as lost. */
  readonly leaseLost = new Map<number, Set<string>>();
  /** Every pid the cluster started, in order. */
  readonly pids: number[] = [];
  /** Error-level log lines and unparsed stderr of every node, for the report. */
  readonly errors: string[] = [];
  #options: ClusterOptions;
  #closed = false;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.slots = Array.from({ length: options.nodes }, (_, i) => ({
      name: `node-${i + 1}`,
      proc: undefined,
      url: undefined,
      state: "down" as const,
      starts: 0,
    }));
  }

  /** Slots whose process listens now. */
  live(): NodeSlot[] {
    return this.slots.filter((slot) => slot.state === "up");
  }

  /** Starts a process in a down slot and resolves once it listens. */
  async start(slot: NodeSlot): Promise<void> {
    if (this.#closed) throw new Error(`the cluster is closed: ${slot.name} is not restarted`);
    if (slot.state !== "down") return;
    slot.state = "starting";
    slot.starts += 1;
    const config = this.#options.config(slot.name);
    const proc = spawnServer({
      name: slot.name,
      cwd: REPO_ROOT,
      args: [...this.#options.command.args, JSON.stringify(config)],
      env: { NODE_ENV: "production", TASKWIRE_LOG_LEVEL: undefined },
      onLine: (line, log) => this.#onLine(proc, line, log),
    });
    slot.proc = proc;
    if (proc.child.pid !== undefined) this.pids.push(proc.child.pid);
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    try {
      const port = await Promise.race([
        proc.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${slot.name} did not listen in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      slot.url = `http://127.0.0.1:${port}`;
      slot.state = "up";
    } catch (error) {
      proc.child.kill("SIGKILL");
      await proc.exited;
      slot.state = "down";
      slot.proc = undefined;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops a slot's process with `kind` and records it; resolves once the process exited. */
  async stop(slot: NodeSlot, kind: StopKind): Promise<StopRecord | undefined> {
    const proc = slot.proc;
    const pid = proc?.child.pid;
    if (!proc || pid === undefined || slot.state !== "up") return undefined;
    slot.state = "stopping";
    const at = Date.now();
    const exit = kind === "SIGKILL" ? await proc.kill() : await proc.stop(10_000);
    const record: StopRecord = { node: slot.name, pid, kind, at, exitedAt: Date.now(), exit };
    this.stops.push(record);
    slot.state = "down";
    slot.proc = undefined;
    slot.url = undefined;
    return record;
  }

  /** Gracefully stops every running node (the end of a run). */
  async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.stop(slot, "SIGTERM")));
  }

  /** SIGKILLs every process still running, whatever its state, and refuses restarts from then on (cleanup). */
  async killAll(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.proc) await slot.proc.kill();
        slot.state = "down";
        slot.proc = undefined;
      }),
    );
  }

  #onLine(proc: ServerProcess, line: string, log: Record<string, unknown> | undefined): void {
    const pid = proc.child.pid ?? 0;
    if (log?.event === "task.lease_lost" && typeof log.taskId === "string") {
      const set = this.leaseLost.get(pid) ?? new Set<string>();
      this.leaseLost.set(pid, set.add(log.taskId));
      this.#options.onLeaseLost?.(proc.name, pid, log.taskId);
    }
    const level = typeof log?.level === "number" ? log.level : undefined;
    if ((level !== undefined && level >= 50) || (!log && line.trim() !== "")) {
      if (this.errors.length < 200) this.errors.push(`[${proc.name} pid ${pid}] ${line}`);
    }
  }
}
