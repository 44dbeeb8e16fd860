import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, WORKER_SOURCE } from "./paths";

/** How to start the crash worker: `node <args…> <worker args…>`, plus cleanup of any build output. */
export interface WorkerCommand {
  args: string[];
  dispose(): void;
}

/**
 * Prepares the child command once per process. By default the worker is bundled with tsup (our
 * `@taskwire/*` sources through the `@taskwire/source` condition; npm packages stay external) into
 * `node_modules/.cache`, because a child then starts in ~0.2 s instead of ~0.7 s under tsx — and the
 * suite starts ~60 of them. `CRASH_TSX=1` runs `worker.ts` through tsx instead (no build step).
 */
export async function prepareWorkerCommand(env: NodeJS.ProcessEnv = process.env): Promise<WorkerCommand> {
  if (env.CRASH_TSX === "1") {
    return { args: ["--conditions=@taskwire/source", "--import", "tsx", WORKER_SOURCE], dispose() {} };
  }
  const cacheRoot = join(REPO_ROOT, "node_modules", ".cache", "taskwire-crash");
  mkdirSync(cacheRoot, { recursive: true });
  // Inside the repo, so the external packages resolve from the root node_modules.
  const outDir = mkdtempSync(join(cacheRoot, "build-"));
  const { build } = await import("tsup");
  await build({
    entry: { worker: WORKER_SOURCE },
    outDir,
    format: ["esm"],
    outExtension: () => ({ js: ".mjs" }),
    platform: "node",
    target: "node20",
    bundle: true,
    noExternal: [/^@taskwire\//],
    external: ["better-sqlite3", "pino", "zod"],
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    silent: true,
    config: false,
    esbuildOptions(options) {
      options.conditions = ["@taskwire/source"];
      options.keepNames = true; // step(fn) keys come from function names, as in user builds
    },
  });
  return {
    args: [join(outDir, "worker.mjs")],
    dispose: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
