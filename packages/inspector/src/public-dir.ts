import { fileURLToPath } from "node:url";

/**
 * The page's static files (`packages/inspector/public`). This module sits directly under `src/`, and the
 * build bundles it into `dist/index.js`: from either, `../public/` is the same folder, so it resolves
 * when running from source and from the published package alike.
 */
export const PUBLIC_DIR = fileURLToPath(new URL("../public/", import.meta.url));
