import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareBundledScript, type ScriptCommand } from "../bundled-script";

export { REPO_ROOT } from "../bundled-script";

/** The node script's source. */
export const NODE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), "node.ts");

/** How to start a chaos node: `node <args…> '<NodeConfig JSON>'`, plus cleanup of any build output. */
export type NodeCommand = ScriptCommand;

/** Prepares the chaos node's command once per run (bundled; `CHAOS_TSX=1` runs it through tsx). */
export function prepareNodeCommand(env: NodeJS.ProcessEnv = process.env): Promise<NodeCommand> {
  return prepareBundledScript({
    source: NODE_SOURCE,
    cacheName: "taskwire-chaos",
    useTsx: env.CHAOS_TSX === "1",
  });
}
