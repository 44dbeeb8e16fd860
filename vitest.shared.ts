import { defineConfig } from "vitest/config";

/** Shared vitest settings: run every package from source through the custom export condition. */
export const shared = defineConfig({
  resolve: { conditions: ["@taskwire/source"] },
  // step(fn) keys come from fn.name: keep names through the transform, as user builds must too.
  esbuild: { keepNames: true },
  ssr: { resolve: { conditions: ["@taskwire/source"], externalConditions: ["@taskwire/source"] } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
