import { defineConfig } from "tsup";
import base from "../../tsup.base";

/** The library entry plus the `taskwire` bin (tsup keeps its shebang and marks it executable). */
export default defineConfig({ ...base, entry: ["src/index.ts", "src/bin.ts"] });
