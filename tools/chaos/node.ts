/**
 * One chaos node: a Taskwire app (task router under `/api`, default identity resolver: the
 * `x-forwarded-user` header) over the shared store, with the chaos tasks registered and this process's
 * worker running them. The harness starts several, SIGKILLs and restarts them:
 *
 *   node --conditions=@taskwire/source --import tsx tools/chaos/node.ts '<NodeConfig as JSON>'
 *
 * It prints pino JSON lines at `warn` (a lost lease is `task.lease_lost`, which the verifier reads) and
 * one `server.listen_started` line with its port. SIGTERM/SIGINT shut it down gracefully.
 */
import { createTaskflow, type TaskStore } from "@taskwire/core";
import { createTaskwireApp, handleClientError, installGracefulShutdown } from "@taskwire/express";
import { pino } from "pino";
import { appendLedger } from "./ledger";
import { LISTEN_EVENT, type NodeConfig } from "./node-config";
import { chaosTasks } from "./tasks";

const config = parseConfig(process.argv[2]);
const logger = pino({ level: process.env.CHAOS_LOG_LEVEL ?? "warn", base: { node: config.name } });

const taskflow = await createTaskflow({
  store: await openStore(config),
  logger,
  leaseMs: config.leaseMs,
  pollIntervalMs: config.pollMs,
  shutdownTimeoutMs: 3000,
  production: true,
});
const { plain, child, parent } = chaosTasks({
  ran: (taskId, key) => appendLedger(config.ledger, { kind: "step", taskId, key }),
  spawning: (taskId, i) => appendLedger(config.ledger, { kind: "spawn", taskId, key: String(i) }),
});
taskflow.task(plain);
taskflow.task(child);
taskflow.task(parent);

// Short heartbeat and retry: clients reconnect fast, and a dead connection is noticed soon.
const tw = await createTaskwireApp({ taskflow, basePath: "/api", sse: { heartbeatMs: 1000, retryMs: 100 } });
const server = handleClientError(
  tw.app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    // Written directly (the logger is at warn): spawnServer reads the port from this line.
    process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), event: LISTEN_EVENT, port })}\n`);
  }),
  { logger },
);
installGracefulShutdown(server, tw, { logger, timeoutMs: 5000 });

async function openStore(config: NodeConfig): Promise<TaskStore> {
  if (config.store.kind === "sqlite") {
    const { sqliteStore } = await import("@taskwire/sqlite");
    return sqliteStore({ path: config.store.path, pollIntervalMs: Math.min(config.pollMs, 50) });
  }
  const { postgresStore } = await import("@taskwire/postgres");
  return postgresStore({
    connectionString: config.store.url,
    schema: config.store.schema,
    pollIntervalMs: 500,
    logger,
  });
}

function parseConfig(arg: string | undefined): NodeConfig {
  const parsed = arg === undefined ? undefined : (JSON.parse(arg) as Partial<NodeConfig>);
  if (!parsed?.name || !parsed.store || !parsed.ledger || !parsed.leaseMs || !parsed.pollMs) {
    process.stderr.write("usage: node.ts '<NodeConfig JSON: see node-config.ts>'\n");
    process.exit(64);
  }
  return parsed as NodeConfig;
}
