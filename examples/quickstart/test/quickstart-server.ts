import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StartedServer, startServer } from "@taskwire/testing/process";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Starts the quickstart as `npm start` does (`src/server.ts` from source); resolves once it listens. */
export function startQuickstart(env: Record<string, string>): Promise<StartedServer> {
  return startServer({
    name: "quickstart",
    cwd: root,
    args: ["--conditions=@taskwire/source", "--import", "tsx", "src/server.ts"],
    env: { NODE_ENV: "development", TASKWIRE_LOG_LEVEL: "info", ...env },
  });
}
