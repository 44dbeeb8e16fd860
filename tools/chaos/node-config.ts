/** Which store the chaos cluster runs on. */
export type ChaosStoreKind = "sqlite" | "postgres";

/** Where the nodes keep their tasks: one SQLite file shared by every process, or one PostgreSQL schema. */
export type ChaosStoreConfig =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema: string };

/** The one argument of `node.ts` (as JSON): everything a node process needs. */
export interface NodeConfig {
  /** `node-1`, … (logs and reports). */
  name: string;
  store: ChaosStoreConfig;
  /** The side-effect ledger every step body appends to. */
  ledger: string;
  /** Lease length; a killed node's tasks are reclaimed by others this long after its last heartbeat. */
  leaseMs: number;
  /** Worker poll and SQLite doorbell interval. */
  pollMs: number;
}

/** The pino line a node prints once it listens (spawnServer's default `listening` reads its port). */
export const LISTEN_EVENT = "server.listen_started";
