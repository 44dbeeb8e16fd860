/**
 * The export check (`npm run check-exports`, part of `npm test`): for every workspace package and every
 * entry of its `exports` map, lists the exported names — the runtime module's keys (imported through the
 * `@taskwire/source` condition) and the type-only names the TypeScript checker sees — and fails, listing
 * them, when one is not documented in that package's README.md as `` `name` ``.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { exportedNames, packageEntries, repoCompilerOptions, undocumented } from "./exported-names";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const packagesDir = path.join(repoRoot, "packages");

const packages = readdirSync(packagesDir)
  .map((dir) => path.join(packagesDir, dir))
  .filter((dir) => existsSync(path.join(dir, "package.json")));
const entries = packages.flatMap((dir) => packageEntries(dir).map((entry) => ({ dir, ...entry })));
const typeNames = exportedNames(
  entries.map((e) => e.sourceFile),
  repoCompilerOptions(repoRoot),
);

/**
 * The runtime module's export names. A package that needs the vitest runner to load (its peer
 * `vitest`, as `@taskwire/testing`) cannot be imported here: its names come from the checker alone.
 */
async function runtimeNames(entry: (typeof entries)[number]): Promise<string[]> {
  try {
    return Object.keys(await import(entry.specifier));
  } catch (error) {
    const pkg = JSON.parse(readFileSync(path.join(entry.dir, "package.json"), "utf8"));
    if (!pkg.peerDependencies?.vitest) throw error;
    console.log(`${entry.specifier}: loads only under vitest; checking the type listing alone`);
    return [];
  }
}

let failures = 0;
for (const entry of entries) {
  const runtime = await runtimeNames(entry);
  const typed = typeNames.get(entry.sourceFile) ?? [];
  // A runtime export the checker does not list would mean the listing is wrong: fail rather than trust it.
  const unseen = runtime.filter((name) => !typed.includes(name));
  if (unseen.length > 0) {
    failures += 1;
    console.error(`${entry.specifier}: runtime exports missing from the type listing: ${unseen.join(", ")}`);
  }
  const readmePath = path.join(entry.dir, "README.md");
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : "";
  const missing = undocumented([...new Set([...typed, ...runtime])], readme);
  if (missing.length > 0) {
    failures += 1;
    console.error(
      `${entry.specifier}: ${missing.length} exported name(s) not documented in ${path.relative(repoRoot, readmePath)} as \`name\`:\n  ${missing.join("\n  ")}`,
    );
  } else {
    console.log(`${entry.specifier}: ${typed.length} exported names, all documented`);
  }
}
process.exit(failures > 0 ? 1 : 0);
