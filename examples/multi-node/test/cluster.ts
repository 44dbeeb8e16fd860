import { createHash } from "node:crypto";
import { openSSE } from "@taskwire/testing";
import type { PgEnv } from "@taskwire/testing/pg";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { type LogLine, type NodeProcess, spawnNode } from "../src/node-process";

/** The demo user every request signs in as (the quickstart's demo cookie). */
export const USER = "mnuser";
export const COOKIE = `tw_demo_user=${USER}`;

/** A running quickstart node of the cluster. */
export interface ClusterNode extends NodeProcess {
  url: string;
  port: number;
}

/** Settings of {@link useCluster}. */
export interface ClusterOptions {
  nodes: number;
  /** `TASKWIRE_LEASE_MS` of every node. */
  leaseMs: number;
}

/**
 * Starts `nodes` quickstart servers as real child processes on this file's PostgreSQL schema before the
 * file's tests and stops them after (before the schema is dropped: vitest runs `afterAll` hooks in
 * reverse order, and `setupPgEnv` registered its hook first). Logs at debug level, so each node's log
 * says which tasks it claimed, which steps it completed and which runs it finished.
 */
export function useCluster(env: PgEnv, options: ClusterOptions): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  if (!env.available) return nodes; // skipped loudly by setupPgEnv (outside CI; in CI it already threw)
  beforeAll(async () => {
    const spawned = Array.from({ length: options.nodes }, (_, i) =>
      spawnNode({
        name: `node-${String.fromCharCode(65 + i)}`,
        port: 0,
        env: {
          TASKWIRE_PG_URL: env.url,
          TASKWIRE_PG_SCHEMA: env.schema,
          TASKWIRE_LEASE_MS: String(options.leaseMs),
          TASKWIRE_LOG_LEVEL: "debug",
          // One test user starts dozens of reports across the nodes at once: not what the rate is about.
          TASKWIRE_START_RATE: "off",
          TASKWIRE_DB: undefined,
        },
      }),
    );
    try {
      const ports = await Promise.all(spawned.map((node) => node.ready));
      spawned.forEach((node, i) => {
        const port = ports[i]!;
        nodes.push(Object.assign(node, { port, url: `http://127.0.0.1:${port}` }));
      });
    } catch (error) {
      for (const node of spawned) node.child.kill("SIGKILL");
      throw error;
    }
  }, 60_000);
  afterAll(async () => {
    // SIGTERM (graceful shutdown), then SIGKILL if a node has not exited after the grace.
    await Promise.all(nodes.map((node) => node.stop()));
  }, 30_000);
  return nodes;
}

/** A request to a node as the demo user. */
export function api(node: { url: string }, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("cookie", COOKIE);
  if (init.body !== undefined) headers.set("content-type", "application/json");
  return fetch(`${node.url}${path}`, { ...init, headers });
}

/** The `reports.generate` input. */
export interface ReportInput {
  chunks: number;
  chunkMs: number;
  failAt?: number;
}

/** Starts a report through `node`'s task router (`202 { taskId }`); the node claims it at once. */
export async function startReport(node: { url: string }, input: ReportInput): Promise<string> {
  const response = await api(node, "/api/tasks/reports.generate", {
    method: "POST",
    body: JSON.stringify(input),
  });
  if (response.status !== 202) throw new Error(`start answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { taskId: string }).taskId;
}

/** One SSE frame as a client saw it, with the client's receive time (epoch ms). */
export interface Frame {
  seq: number;
  name: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

/** A live SSE stream (read with `openSSE`), its frames timestamped as they arrive. */
export interface StreamReader {
  /** WAL events (progress and the terminal event), in arrival order. */
  frames: Frame[];
  /** The bridge's own frames (`ready`, `interrupted`). */
  control: Frame[];
  /** Resolves once the response ended (after the terminal frame, or an early end). */
  ended: Promise<void>;
  close(): void;
}

/** Opens `GET /api/tasks/:taskId/events` on `node` and records every frame as it arrives. */
export async function readStream(node: { url: string }, taskId: string): Promise<StreamReader> {
  const frames: Frame[] = [];
  const control: Frame[] = [];
  const sse = await openSSE(`${node.url}/api/tasks/${taskId}/events`, {
    headers: { cookie: COOKIE },
    onFrame: (frame) => {
      const name = frame.event ?? "message";
      const entry = {
        seq: Number(frame.id),
        name,
        data: frame.data as Record<string, unknown>,
        receivedAt: Date.now(),
      };
      (name === "ready" || name === "interrupted" ? control : frames).push(entry);
    },
  });
  if (sse.status !== 200) throw new Error(`events answered ${sse.status}`);
  return { frames, control, ended: sse.ended, close: () => sse.close() };
}

/** Log lines of `node` about `taskId` with `event`. */
export function taskLogs(node: NodeProcess, taskId: string, event: string): LogLine[] {
  return node.logs.filter((line) => line.taskId === taskId && line.event === event);
}

/**
 * The nodes whose logs say they settled `taskId` (completed, failed or cancelled it). Waits for the first
 * such line: a node logs the settlement after the commit, so a client can see the terminal event first.
 */
export async function settledOn(nodes: readonly ClusterNode[], taskId: string): Promise<string[]> {
  const settled = ["task.run_completed", "task.run_failed", "task.run_cancelled"];
  const names = () =>
    nodes
      .filter((node) => settled.some((event) => taskLogs(node, taskId, event).length > 0))
      .map((node) => node.name);
  await vi.waitFor(() => expect(names(), `a settlement log line for ${taskId}`).not.toEqual([]), {
    timeout: 5000,
    interval: 5,
  });
  return names();
}

/** Asserts the common shape of a finished report stream and returns its progress tokens. */
export function checkReportFrames(frames: readonly Frame[], chunks: number): string[] {
  const problems: string[] = [];
  const seqs = frames.map((f) => f.seq);
  const expected = Array.from({ length: chunks + 1 }, (_, i) => i + 1);
  if (JSON.stringify(seqs) !== JSON.stringify(expected)) problems.push(`seqs ${seqs.join(",")}`);
  const progress = frames.filter((f) => f.name === "progress");
  const done = progress.map((f) => f.data.done);
  if (JSON.stringify(done) !== JSON.stringify(expected.slice(0, chunks))) problems.push(`done ${done}`);
  const last = frames.at(-1);
  if (last?.name !== "completed") problems.push(`terminal ${last?.name}`);
  const tokens = progress.map((f) => String(f.data.token));
  const digest = (last?.data.result as { digest?: string } | undefined)?.digest;
  if (digest !== sha256Hex(tokens.join("\n"))) problems.push(`digest ${digest} != sha256(tokens)`);
  if (problems.length > 0) throw new Error(`bad report stream: ${problems.join("; ")}`);
  return tokens;
}

/** The report digest as the quickstart's contract states it: lowercase hex SHA-256 of the tokens joined by "\n". */
function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
