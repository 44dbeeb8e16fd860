import { defineConfig, type Options } from "tsup";
import base from "../../tsup.base";

/**
 * Three entries: the root (task and app authors), `@taskwire/core/store` (store authors) and
 * `@taskwire/core/prometheus` (the prom-client adapter; prom-client is an optional peer).
 */
export default defineConfig({
  ...(base as Options),
  entry: ["src/index.ts", "src/store.ts", "src/prometheus.ts"],
});
