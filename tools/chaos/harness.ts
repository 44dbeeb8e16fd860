import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createPrng } from "../crash/prng";
import { Cluster } from "./cluster";
import { Driver, type DriverSettings } from "./driver";
import { type KillerSettings, runKiller, startWithRetries } from "./killer";
import { readLedger } from "./ledger";
import type { NodeCommand } from "./node-command";
import { prepareNodeCommand } from "./node-command";
import type { ChaosStoreConfig, ChaosStoreKind } from "./node-config";
import { readStoredState } from "./store-reader";
import { type ChaosStats, verifyChaos } from "./verify";

/** What one chaos run does. */
export interface ChaosOptions {
  /** Length of the chaos phase (kills, new tasks); fractional is fine. */
  minutes: number;
  store: ChaosStoreKind;
  /** @default 3 */
  nodes?: number;
  /** Seeds every random choice (timings still differ run to run). @default random */
  seed?: number;
  /** PostgreSQL server (a fresh schema is created on it). @default TASKWIRE_PG_URL or the local test server */
  pgUrl?: string;
  /** Lease of every node. @default 1000 */
  leaseMs?: number;
  /** After the chaos phase: how long every started task may take to finish. @default 60000 */
  settleMs?: number;
  killer?: Partial<KillerSettings>;
  driver?: Partial<DriverSettings>;
  /** A prepared node command (shared by several runs); prepared (and disposed) by the run otherwise. */
  command?: NodeCommand;
  /** Keep the temp directory (and the PostgreSQL schema) even when the run passed. */
  keep?: boolean;
  /** Progress lines (kills, phases). @default none */
  log?: (line: string) => void;
  /** Aborting SIGKILLs every node and removes the build at once (the CLI then exits on Ctrl-C). */
  signal?: AbortSignal;
}

/** A finished run. */
export interface ChaosReport {
  seed: number;
  store: ChaosStoreKind;
  nodes: number;
  /** Wall time of the whole run, and of its chaos phase. */
  durationMs: number;
  chaosMs: number;
  /** Temp directory (ledger, SQLite file); kept when the run failed. */
  dir: string;
  /** PostgreSQL schema of the run; kept when it failed. */
  schema?: string;
  stats: ChaosStats;
  violations: string[];
  /** Error lines the nodes printed (for diagnosis; not violations by themselves). */
  nodeErrors: string[];
}

/** The driver's defaults: 8 tasks in flight, ~45% of them parents, half of all connections dropped. */
export const DEFAULT_DRIVER: DriverSettings = {
  lanes: 8,
  parentChance: 0.45,
  stepMs: [10, 120],
  signalDelayMs: [0, 2500],
  signalTwiceChance: 0.3,
  dropChance: 0.5,
  dropAfterMs: [30, 1200],
  secondClientChance: 0.25,
  childClientChance: 0.5,
  probeEveryMs: [150, 400],
};

/** The killer's defaults: a stop every 1.5-4 s, down 0.2-1.5 s, one in seven graceful. */
export const DEFAULT_KILLER: KillerSettings = {
  everyMs: [1500, 4000],
  downMs: [200, 1500],
  termChance: 0.15,
};

const PG_URL_DEFAULT = "postgres://postgres@127.0.0.1:5432/test";

/**
 * One chaos run: starts the nodes on a fresh store, then for `minutes` drives tasks over HTTP and SSE
 * (`Driver`) while the killer stops and restarts nodes; then stops killing, restarts every node, lets
 * every started task finish (up to `settleMs`), stops the nodes gracefully, reads the store and the
 * ledger, and verifies (`verifyChaos`).
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const seed = (options.seed ?? Math.floor(Math.random() * 2 ** 31)) >>> 0;
  const rng = createPrng(seed);
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), `taskwire-chaos-${seed}-`));
  const ledger = join(dir, "ledger.jsonl");
  const store = await prepareStore(options, dir, seed);
  const command = options.command ?? (await prepareNodeCommand());
  const leaseMs = options.leaseMs ?? 1000;
  const cluster = new Cluster({
    command,
    nodes: options.nodes ?? 3,
    config: (name) => ({ name, store, ledger, leaseMs, pollMs: 100 }),
    onLeaseLost: (node, pid, taskId) => log(`${node} (pid ${pid}) logged task.lease_lost for ${taskId}`),
  });
  const harnessErrors: string[] = [];
  let disposed = false;
  const dispose = () => {
    if (!options.command && !disposed) command.dispose();
    disposed = true;
  };
  const onAbort = () => void cluster.killAll().finally(dispose);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // The first node applies the migrations alone; the others then start together.
    const [first, ...rest] = cluster.slots;
    if (first) await cluster.start(first);
    await Promise.all(rest.map((slot) => cluster.start(slot)));
    const chaosStart = Date.now();
    const chaosEnd = chaosStart + options.minutes * 60_000;
    const deadline = chaosEnd + (options.settleMs ?? 60_000);
    log(
      `${cluster.slots.length} nodes up on ${store.kind}; chaos until +${Math.round((chaosEnd - chaosStart) / 1000)} s (seed ${seed})`,
    );
    const driver = new Driver(cluster, rng, { ...DEFAULT_DRIVER, ...options.driver }, `r${seed}`);
    const since = (t: number) => `+${((t - chaosStart) / 1000).toFixed(1)}s`;
    const killing = runKiller(
      cluster,
      rng,
      { ...DEFAULT_KILLER, ...options.killer },
      chaosEnd,
      (line) => log(`${since(Date.now())} ${line}`),
      (message) => harnessErrors.push(message),
    ).then(async () => {
      // Settling: every node back up, so every task and client can finish.
      await Promise.all(
        cluster.slots.map((slot) => startWithRetries(cluster, slot, (m) => harnessErrors.push(m))),
      );
      log(`${since(Date.now())} chaos over: every node up, settling`);
    });
    const driven = await driver.run(chaosEnd, deadline);
    await killing;
    const chaosMs = Date.now() - chaosStart;
    const stops = [...cluster.stops];
    log(`${since(Date.now())} every task followed to its end; stopping the nodes`);
    await cluster.stopAll();
    const state = await readStoredState(store);
    const { entries, torn } = readLedger(ledger);
    const { violations, stats } = verifyChaos({
      driver: driven,
      state,
      ledger: entries,
      torn,
      stops: cluster.stops,
      chaosStops: stops,
      leaseLost: cluster.leaseLost,
      starts: cluster.slots.reduce((n, slot) => n + slot.starts, 0),
      nodes: cluster.slots.length,
    });
    violations.push(...harnessErrors.map((e) => `harness: ${e}`));
    const keep = options.keep || violations.length > 0;
    if (!keep) await dropStore(store, dir);
    return {
      seed,
      store: store.kind,
      nodes: cluster.slots.length,
      durationMs: Date.now() - began,
      chaosMs,
      dir,
      schema: store.kind === "postgres" ? store.schema : undefined,
      stats,
      violations,
      nodeErrors: cluster.errors,
    };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await cluster.killAll();
    dispose();
  }
}

async function prepareStore(options: ChaosOptions, dir: string, seed: number): Promise<ChaosStoreConfig> {
  if (options.store === "sqlite") return { kind: "sqlite", path: join(dir, "tasks.db") };
  const url = options.pgUrl ?? process.env.TASKWIRE_PG_URL ?? PG_URL_DEFAULT;
  const schema = `chaos_${seed}_${randomBytes(3).toString("hex")}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return { kind: "postgres", url, schema };
}

async function dropStore(store: ChaosStoreConfig, dir: string): Promise<void> {
  if (store.kind === "postgres") {
    const client = new pg.Client({ connectionString: store.url });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${store.schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
