import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** One pino JSON line a server printed (the fields tests usually read, and any other). */
export interface LogLine {
  level: number;
  time: number;
  msg?: string;
  event?: string;
  taskId?: string;
  port?: number;
  [field: string]: unknown;
}

/** How a child process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  /** A label for error messages (`node-A`). @default "server" */
  name?: string;
  /** Arguments of `node` (this very Node binary): flags, then the script and its arguments. */
  args: readonly string[];
  /** @default process.cwd() */
  cwd?: string;
  /** Added to this process's environment; a variable set to `undefined` is removed. */
  env?: Record<string, string | undefined>;
  /**
   * Picks the port out of a printed line once the server listens.
   * @default the port of a pino line `{ "event": "server.listen_started", "port": … }`
   */
  listening?: (line: string, log: LogLine | undefined) => number | undefined;
  /** Called for every line printed on stdout or stderr (`log` is set for a pino JSON line). */
  onLine?: (line: string, log: LogLine | undefined) => void;
  /**
   * Run it in its own process group (which its children inherit), so `process.kill(-child.pid)` ends them
   * all even if it died first. @default false
   */
  detached?: boolean;
}

/** A server running as a child process. */
export interface ServerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the port once the server says it listens; rejects if it exits first. */
  readonly ready: Promise<number>;
  /** Resolves once the process exited and its output was read to the end. */
  readonly exited: Promise<ProcessExit>;
  /** Every pino line printed so far, parsed. */
  readonly logs: LogLine[];
  /** Every line printed so far (stdout and stderr), raw. */
  readonly lines: string[];
  /** Graceful stop: SIGTERM, then SIGKILL if it is still running after `graceMs` (default 8000). */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL now (a crash); resolves once it exited. */
  kill(): Promise<ProcessExit>;
}

/** A {@link ServerProcess} that is listening. */
export interface StartedServer extends ServerProcess {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

const defaultListening = (_line: string, log: LogLine | undefined): number | undefined =>
  log?.event === "server.listen_started" && typeof log.port === "number" ? log.port : undefined;

/**
 * Starts `node <args>` as a child process and reads its output line by line: `ready` resolves with the
 * port from its "listening" line, `logs`/`lines` collect what it printed, `stop()`/`kill()` end it.
 * @example
 * const server = spawnServer({ args: ["--import", "tsx", "src/server.ts"], env: { PORT: "0" } });
 * const port = await server.ready;
 * await server.stop(); // SIGTERM, then SIGKILL after the grace
 */
export function spawnServer(options: SpawnServerOptions): ServerProcess {
  const name = options.name ?? "server";
  const listening = options.listening ?? defaultListening;
  const child = spawn(process.execPath, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const logs: LogLine[] = [];
  const lines: string[] = [];
  // "close", not "exit": it comes after the output pipes drained, so `logs` is complete by then.
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  let onReady: (port: number) => void = () => undefined;
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    child.once("error", reject);
    void exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited before listening (${code ?? signal}):\n${lines.join("\n")}`)),
    );
  });
  ready.catch(() => undefined); // callers that never await `ready` must not see an unhandled rejection
  const read = (stream: NodeJS.ReadableStream | null) => {
    let buffered = "";
    stream?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        if (line === "") continue;
        lines.push(line);
        const log = parseLogLine(line);
        if (log) logs.push(log);
        const port = listening(line, log);
        if (port !== undefined) onReady(port);
        options.onLine?.(line, log);
      }
    });
  };
  read(child.stdout);
  read(child.stderr);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    ready,
    exited,
    logs,
    lines,
    async stop(graceMs = 8000) {
      if (running()) child.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (running()) child.kill("SIGKILL");
      }, graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (running()) child.kill("SIGKILL");
      return exited;
    },
  };
}

/**
 * {@link spawnServer}, resolved once the server listens; it is killed if it does not within `timeoutMs`.
 * @example
 * const server = await startServer({ args: ["--import", "tsx", "src/server.ts"], env: { PORT: "0" } });
 * const res = await fetch(`${server.url}/health`);
 */
export async function startServer(
  options: SpawnServerOptions & {
    /** @default 20000 */
    timeoutMs?: number;
  },
): Promise<StartedServer> {
  const server = spawnServer(options);
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`${server.name} did not listen within ${timeoutMs} ms:\n${server.lines.join("\n")}`),
        ),
      timeoutMs,
    );
  });
  try {
    const port = await Promise.race([server.ready, timedOut]);
    return Object.assign(server, { port, url: `http://127.0.0.1:${port}` });
  } catch (error) {
    await server.kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A free TCP port on 127.0.0.1 (so a restarted server can take the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === "object" && value !== null && "level" in value ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}
