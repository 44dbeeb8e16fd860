import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root: children run from there so `@taskwire/*` and npm packages resolve as in the repo. */
export const REPO_ROOT = resolve(HERE, "../..");
/** The crash worker's source file. */
export const WORKER_SOURCE = join(HERE, "worker.ts");
