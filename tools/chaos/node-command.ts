import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root: nodes run from there so npm packages resolve as in the repo. */
export const REPO_ROOT = resolve(HERE, "../..");
/** The node script's source. */
export const NODE_SOURCE = join(HERE, "node.ts");

/** How to start a chaos node: `node <args…> '<NodeConfig JSON>'`, plus cleanup of any build output. */
export interface NodeCommand {
  args: string[];
  dispose(): void;
}

/**
 * Prepares the node command once per run. By default `node.ts` is bundled with tsup (our `@taskwire/*`
 * sources through the `@taskwire/source` condition, every npm package external) into
 * `node_modules/.cache/taskwire-chaos`: a node then starts in a fraction of the time tsx needs, which
 * matters when a short run restarts nodes every few seconds on two cores. `CHAOS_TSX=1` runs it through
 * tsx instead. (The same recipe as the crash harness's `worker-command.ts`, for another entry.)
 */
export async function prepareNodeCommand(env: NodeJS.ProcessEnv = process.env): Promise<NodeCommand> {
  if (env.CHAOS_TSX === "1") {
    return { args: ["--conditions=@taskwire/source", "--import", "tsx", NODE_SOURCE], dispose() {} };
  }
  const cacheRoot = join(REPO_ROOT, "node_modules", ".cache", "taskwire-chaos");
  mkdirSync(cacheRoot, { recursive: true });
  // Inside the repo, so the external packages resolve from the root node_modules.
  const outDir = mkdtempSync(join(cacheRoot, "build-"));
  const { build } = await import("tsup");
  await build({
    entry: { node: NODE_SOURCE },
    outDir,
    format: ["esm"],
    outExtension: () => ({ js: ".mjs" }),
    platform: "node",
    target: "node20",
    bundle: true,
    noExternal: [/^@taskwire\//],
    // Every npm package (bare or scoped, other than ours) stays external.
    external: [/^[^./@]/, /^@(?!taskwire\/)/],
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    silent: true,
    config: false,
    esbuildOptions(options) {
      options.conditions = ["@taskwire/source"];
      options.keepNames = true;
    },
  });
  return {
    args: [join(outDir, "node.mjs")],
    dispose: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
