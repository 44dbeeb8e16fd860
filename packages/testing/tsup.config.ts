import { defineConfig, type Options } from "tsup";
import base from "../../tsup.base";

/** Three entries: the root, `@taskwire/testing/pg` (needs `pg`) and `@taskwire/testing/process` (Node). */
export default defineConfig({ ...(base as Options), entry: ["src/index.ts", "src/pg.ts", "src/process.ts"] });
