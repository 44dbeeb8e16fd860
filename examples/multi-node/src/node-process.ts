import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LogLine, type ServerProcess, spawnServer } from "@taskwire/testing/process";

export type { LogLine };

/** The quickstart app every node runs (`examples/quickstart`, started as `npm start` does). */
export const QUICKSTART_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "quickstart");

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

/** A quickstart server running as a child process (`ready` resolves with its port). */
export type NodeProcess = ServerProcess;

/** Starts `examples/quickstart/src/server.ts` with `env` (run from source, like `npm start`). */
export function spawnNode(spec: NodeSpec): NodeProcess {
  return spawnServer({
    name: spec.name,
    cwd: QUICKSTART_DIR,
    args: ["--conditions=@taskwire/source", "--import", "tsx", "src/server.ts"],
    env: { NODE_ENV: "development", ...spec.env, PORT: String(spec.port) },
    onLine: spec.onLine,
  });
}
