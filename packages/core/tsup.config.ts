import { defineConfig, type Options } from "tsup";
import base from "../../tsup.base";

/** Two entries: the root (task and app authors) and `@taskwire/core/store` (store authors). */
export default defineConfig({ ...(base as Options), entry: ["src/index.ts", "src/store.ts"] });
