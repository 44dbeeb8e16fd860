/**
 * Three quickstart nodes on one PostgreSQL database, plus a tiny balancer in front of them:
 *
 *   npm run start:multi
 *   node --conditions=@taskwire/source --import tsx examples/multi-node/start.ts
 *
 * Environment: TASKWIRE_PG_URL (default postgres://postgres@127.0.0.1:5432/test), TASKWIRE_PG_SCHEMA
 * (default "taskwire"), TASKWIRE_LEASE_MS (default 5000), NODES (default 3), BASE_PORT (default 3001:
 * nodes on 3001, 3002, 3003; 0 picks free ports), BALANCER_PORT (default 3000; 0 picks a free port,
 * "off" turns it off), TASKWIRE_LOG_LEVEL.
 * Ctrl-C stops every node gracefully (a second Ctrl-C kills them).
 */
import { startBalancer } from "./src/balancer";
import { type LogLine, type NodeProcess, spawnNode } from "./src/node-process";

const env = process.env;
const pgUrl = env.TASKWIRE_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const leaseMs = Number(env.TASKWIRE_LEASE_MS ?? 5000);
const count = Number(env.NODES ?? 3);
const basePort = Number(env.BASE_PORT ?? 3001);
const balancerPort = env.BALANCER_PORT === "off" ? undefined : Number(env.BALANCER_PORT ?? 3000);
const colors = [36, 35, 33, 32, 34, 31];
const tty = process.stdout.isTTY;

/** One readable line per pino line: `[node-2] INFO  task completed  event=task.run_completed taskId=…`. */
function format(log: LogLine): string {
  const level = log.level >= 50 ? "ERROR" : log.level >= 40 ? "WARN " : log.level >= 30 ? "INFO " : "DEBUG";
  const fields = ["event", "taskId", "task", "port", "outcome", "code", "cursor", "lastSeq"]
    .filter((key) => log[key] !== undefined)
    .map((key) => `${key}=${String(log[key])}`);
  const err = (log.err as { message?: string } | undefined)?.message;
  return `${level} ${log.msg ?? ""}  ${fields.join(" ")}${err ? `  err=${err}` : ""}`;
}

const nodes: NodeProcess[] = [];
for (let i = 0; i < count; i++) {
  const name = `node-${i + 1}`;
  const prefix = tty ? `\x1b[${colors[i % colors.length]}m[${name}]\x1b[0m` : `[${name}]`;
  const node = spawnNode({
    name,
    port: basePort === 0 ? 0 : basePort + i,
    env: { TASKWIRE_PG_URL: pgUrl, TASKWIRE_LEASE_MS: String(leaseMs), TASKWIRE_DB: undefined },
    onLine: (line, log) => process.stdout.write(`${prefix} ${log ? format(log) : line}\n`),
  });
  nodes.push(node);
  void node.exited.then(({ code, signal }) => {
    process.stdout.write(`${prefix} exited (${signal ?? `code ${code}`})\n`);
    if (!stopping && nodes.every((n) => n.child.exitCode !== null || n.child.signalCode !== null)) {
      process.stdout.write("every node has exited\n");
      void (balancer?.close() ?? Promise.resolve()).then(() => process.exit(1));
    }
  });
}

let stopping = false;
let balancer: Awaited<ReturnType<typeof startBalancer>> | undefined;

const ports = await Promise.all(nodes.map((node) => node.ready)).catch((error: unknown) => {
  for (const node of nodes) node.child.kill("SIGKILL");
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
if (balancerPort !== undefined) {
  balancer = await startBalancer({
    port: balancerPort,
    targets: () =>
      nodes
        .map((node, i) => ({
          name: node.name,
          port: ports[i]!,
          alive: node.child.exitCode === null && !node.child.signalCode,
        }))
        .filter((t) => t.alive),
  });
}

const lines = [
  "",
  `${count} Taskwire nodes on ${pgUrl.replace(/\/\/[^@]*@/, "//…@")} (lease ${leaseMs} ms):`,
  ...nodes.map((node, i) => `  ${node.name}  http://localhost:${ports[i]}  pid ${node.child.pid}`),
  balancer ? `  balancer http://localhost:${balancer.port}  (round robin, skips dead nodes)` : "",
  "",
  `Crash one with: kill -9 <pid>. Its tasks resume on another node within about ${leaseMs} ms (the lease)`,
  "+ 250 ms (the claim poll) + the interrupted chunk. Ctrl-C stops all nodes.",
  "",
];
process.stdout.write(`${lines.join("\n")}\n`);

async function stop(): Promise<void> {
  if (stopping) {
    for (const node of nodes) node.child.kill("SIGKILL");
    return;
  }
  stopping = true;
  process.stdout.write("\nstopping (graceful: running tasks are handed back; Ctrl-C again to kill)…\n");
  await balancer?.close();
  for (const node of nodes)
    if (node.child.exitCode === null && !node.child.signalCode) node.child.kill("SIGTERM");
  await Promise.all(nodes.map((node) => node.exited));
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
process.on("SIGHUP", () => void stop()); // the terminal closed
