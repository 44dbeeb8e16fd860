import { handleClientError, installGracefulShutdown } from "@taskwire/express";
import { createQuickstart, parseStartRate } from "./app";
import { createLogger } from "./logger";

const logger = createLogger();
const port = Number(process.env.PORT ?? 3000);
const leaseMs = process.env.TASKWIRE_LEASE_MS ? Number(process.env.TASKWIRE_LEASE_MS) : undefined;

const { app, tw } = await createQuickstart({
  dbPath: process.env.TASKWIRE_DB,
  pgUrl: process.env.TASKWIRE_PG_URL,
  pgSchema: process.env.TASKWIRE_PG_SCHEMA || undefined,
  leaseMs,
  logger,
  startRate: parseStartRate(process.env.TASKWIRE_START_RATE),
});
const server = app.listen(port, () => {
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  const store = process.env.TASKWIRE_PG_URL
    ? "PostgreSQL"
    : `SQLite (${process.env.TASKWIRE_DB ?? ".taskwire/quickstart.db"})`;
  logger.info(
    { event: "server.listen_started", port: actual, store },
    `Taskwire quickstart at http://localhost:${actual} · inspector at http://localhost:${actual}/inspector`,
  );
});
// Requests Node's HTTP parser rejects get the same JSON error shape as the API, then the socket closes.
handleClientError(server, { logger });
installGracefulShutdown(server, tw, { logger });
