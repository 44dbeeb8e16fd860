import { prepareBundledScript, type ScriptCommand } from "../bundled-script";
import { WORKER_SOURCE } from "./paths";

/** How to start the crash worker: `node <args…> <worker args…>`, plus cleanup of any build output. */
export type WorkerCommand = ScriptCommand;

/** Prepares the crash worker's command once per process (bundled; `CRASH_TSX=1` runs it through tsx). */
export function prepareWorkerCommand(env: NodeJS.ProcessEnv = process.env): Promise<WorkerCommand> {
  return prepareBundledScript({
    source: WORKER_SOURCE,
    cacheName: "taskwire-crash",
    useTsx: env.CRASH_TSX === "1",
  });
}
