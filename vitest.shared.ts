import { defineConfig } from "vitest/config";

/** Shared vitest settings: run every package from source through the custom export condition. */
export const shared = defineConfig({
  resolve: { conditions: ["@taskwire/source"] },
  ssr: { resolve: { conditions: ["@taskwire/source"], externalConditions: ["@taskwire/source"] } },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
