import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root: child scripts run from there so npm packages resolve as in the repo. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** How to start a child script: `node <args…> <script args…>`, plus cleanup of any build output. */
export interface ScriptCommand {
  args: string[];
  dispose(): void;
}

/**
 * Prepares a child-process command for a TypeScript script of the harnesses (crash workers, chaos nodes).
 * By default the script is bundled with tsup (our `@taskwire/*` sources through the `@taskwire/source`
 * condition; every npm package stays external) into `node_modules/.cache/<cacheName>`, because a child then
 * starts in ~0.2 s instead of ~0.7 s under tsx — and the suites start dozens of them. With `useTsx` it runs
 * the source through tsx instead (no build step).
 */
export async function prepareBundledScript(options: {
  source: string;
  cacheName: string;
  useTsx: boolean;
}): Promise<ScriptCommand> {
  if (options.useTsx) {
    return { args: ["--conditions=@taskwire/source", "--import", "tsx", options.source], dispose() {} };
  }
  const cacheRoot = join(REPO_ROOT, "node_modules", ".cache", options.cacheName);
  mkdirSync(cacheRoot, { recursive: true });
  // Inside the repo, so the external packages resolve from the root node_modules.
  const outDir = mkdtempSync(join(cacheRoot, "build-"));
  const { build } = await import("tsup");
  await build({
    entry: { script: options.source },
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
    esbuildOptions(esbuild) {
      esbuild.conditions = ["@taskwire/source"];
      esbuild.keepNames = true; // step(fn) keys come from function names, as in user builds
    },
  });
  return {
    args: [join(outDir, "script.mjs")],
    dispose: () => rmSync(outDir, { recursive: true, force: true }),
  };
}
