import type { Server } from "node:http";
import type { Logger } from "pino";

/** Options of {@link installGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Signals that start the shutdown. @default ["SIGTERM", "SIGINT"] */
  signals?: readonly NodeJS.Signals[];
  /** @default the app's bridge logger */
  logger?: Logger;
  /** Past this, remaining sockets are destroyed and the process exits with 1. @default 30000 */
  timeoutMs?: number;
  /** How the process ends (tests pass a spy). @default process.exit */
  exit?: (code: number) => void;
}

/** What {@link installGracefulShutdown} returns. */
export interface GracefulShutdownHandle {
  /** Runs the shutdown now (as a signal would) and resolves with the exit code. */
  shutdown(): Promise<number>;
  /** Removes the signal listeners. */
  uninstall(): void;
}

/** The closable part of a `TaskwireApp`. */
interface Closable {
  close(): Promise<void>;
  readonly bridge?: { readonly logger: Logger };
}

/**
 * On SIGTERM/SIGINT: stop accepting connections (`server.close()`), close the Taskwire app (open SSE
 * streams get `interrupted` `server_shutting_down`, plugins and the taskflow shut down, running tasks
 * are handed back), close idle keep-alive sockets and then any remaining one, and exit 0.
 * @example installGracefulShutdown(tw.app.listen(3000), tw);
 */
export function installGracefulShutdown(
  server: Server,
  app: Closable,
  options: GracefulShutdownOptions = {},
): GracefulShutdownHandle {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const logger = options.logger ?? app.bridge?.logger;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 30_000;
  let running: Promise<number> | undefined;

  const shutdown = (signal?: string): Promise<number> => {
    running ??= (async () => {
      logger?.info({ event: "server.signal_received", signal }, "shutting down");
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
        timer.unref();
      });
      let code = 0;
      try {
        const closed = await Promise.race([app.close().then(() => "closed" as const), timedOut]);
        if (closed === "timeout") code = 1;
      } catch (error) {
        logger?.error({ event: "server.shutdown_failed", err: error }, "shutdown failed");
        code = 1;
      }
      // Streams were ended by app.close(); what is left are idle keep-alive sockets and stragglers.
      server.closeIdleConnections();
      server.closeAllConnections();
      await Promise.race([serverClosed, timedOut]);
      clearTimeout(timer);
      logger?.info({ event: "server.shutdown_completed", code }, "server closed");
      uninstall();
      exit(code);
      return code;
    })();
    return running;
  };

  const listener = (signal: NodeJS.Signals) => void shutdown(signal);
  for (const signal of signals) process.on(signal, listener);
  const uninstall = () => {
    for (const signal of signals) process.off(signal, listener);
  };
  return { shutdown: () => shutdown("manual"), uninstall };
}
