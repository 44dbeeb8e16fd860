import { defineConfig } from "tsup";

/** The one build every package uses: ESM with .d.ts for Node 20 (which can also require() it). */
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  target: "node20",
  clean: true,
  sourcemap: true,
});
