import { execFileSync } from "node:child_process";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import Database from "better-sqlite3";
import { REPO_ROOT } from "../bundled-script";
import { pgEnvironment } from "./pg/schema";
import { shippedPragmas } from "./raw-sqlite";

/** Where the figures were measured. */
export interface Environment {
  /** `git rev-parse HEAD` of the checkout measured (with `-dirty` when it has uncommitted changes). */
  commit: string;
  node: string;
  sqlite: string;
  sqlitePragmas: { NORMAL: string[]; FULL: string[] };
  /** PostgreSQL version and durability settings; absent when no section used PostgreSQL. */
  postgres?: Record<string, string>;
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  tmpdir: string;
  loadAverage: number[];
}

/** Collects the environment (asks PostgreSQL only when `withPostgres`). */
export async function collectEnvironment(pgUrl: string, withPostgres: boolean): Promise<Environment> {
  const db = new Database(":memory:");
  const sqlite = db.prepare("SELECT sqlite_version()").pluck().get() as string;
  db.close();
  const cpuList = cpus();
  const environment: Environment = {
    commit: gitCommit(),
    node: process.version,
    sqlite,
    sqlitePragmas: { NORMAL: shippedPragmas("NORMAL"), FULL: shippedPragmas("FULL") },
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? "unknown",
    memoryMb: Math.round(totalmem() / 2 ** 20),
    tmpdir: tmpdir(),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
  if (withPostgres) environment.postgres = await pgEnvironment(pgUrl);
  return environment;
}

function gitCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    return `${git("rev-parse", "HEAD")}${git("status", "--porcelain") ? "-dirty" : ""}`;
  } catch {
    return "unknown";
  }
}

/** The environment as two lines for the table's header. */
export function describeEnvironment(env: Environment): string[] {
  const pg = env.postgres
    ? `; PostgreSQL ${env.postgres.server_version} (fsync=${env.postgres.fsync}, synchronous_commit=${env.postgres.synchronous_commit})`
    : "";
  return [
    `commit ${env.commit.slice(0, 12)}; node ${env.node}, ${env.cpus} CPUs (${env.cpuModel}), ${env.memoryMb} MB, load ${env.loadAverage.join(" ")}`,
    `SQLite ${env.sqlite} in ${env.tmpdir} (${env.sqlitePragmas.NORMAL.join(", ")}; FULL rows: synchronous = FULL)${pg}`,
  ];
}
