import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The quickstart app every node runs (`examples/quickstart`, started as `npm start` does). */
export const QUICKSTART_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "quickstart");

/** One pino line of a node's stdout (the fields the multi-node tools read). */
export interface LogLine {
  level: number;
  time: number;
  msg?: string;
  event?: string;
  taskId?: string;
  port?: number;
  [field: string]: unknown;
}

/** What {@link spawnNode} starts. */
export interface NodeSpec {
  /** A label for logs (`node-1`). */
  name: string;
  /** `PORT`; 0 picks a free one (read back from the `server.listen_started` log line). */
  port: number;
  /** Extra environment: `TASKWIRE_PG_URL`, `TASKWIRE_PG_SCHEMA`, `TASKWIRE_LEASE_MS`, `TASKWIRE_LOG_LEVEL`… */
  env: Record<string, string | undefined>;
  /** Called for every line the node prints (`log` is set when the line is a pino JSON line). */
  onLine?: (line: string, log: LogLine | undefined) => void;
}

/** A quickstart server running as a child process. */
export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the port once the server logs `server.listen_started`; rejects if it exits first. */
  readonly ready: Promise<number>;
  /** Resolves with the exit code or signal once the process exited and its output was read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every pino line printed so far, parsed. */
  readonly logs: LogLine[];
  /** Every line printed so far (stdout and stderr), raw. */
  readonly lines: string[];
}

/** Starts `examples/quickstart/src/server.ts` with `env` (run from source, like `npm start`). */
export function spawnNode(spec: NodeSpec): NodeProcess {
  const child = spawn(
    process.execPath,
    ["--conditions=@taskwire/source", "--import", "tsx", "src/server.ts"],
    {
      cwd: QUICKSTART_DIR,
      env: { ...process.env, NODE_ENV: "development", ...spec.env, PORT: String(spec.port) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: LogLine[] = [];
  const lines: string[] = [];
  // "close", not "exit": it comes after the output pipes drained, so `logs` is complete by then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  let onReady: (port: number) => void = () => undefined;
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    void exited.then(({ code, signal }) =>
      reject(new Error(`${spec.name} exited before listening (${code ?? signal}):\n${lines.join("\n")}`)),
    );
  });
  ready.catch(() => undefined); // callers that never await `ready` must not see an unhandled rejection
  const reader = (stream: NodeJS.ReadableStream | null) => {
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
        if (log?.event === "server.listen_started" && typeof log.port === "number") onReady(log.port);
        spec.onLine?.(line, log);
      }
    });
  };
  reader(child.stdout);
  reader(child.stderr);
  return { name: spec.name, child, ready, exited, logs, lines };
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
