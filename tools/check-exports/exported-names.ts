import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** One public entry point of a package: `@taskwire/core/store` → `packages/core/src/store.ts`. */
export interface PackageEntry {
  /** The import specifier (`@taskwire/core`, `@taskwire/core/store`). */
  specifier: string;
  /** Absolute path of the source file the `@taskwire/source` condition points at. */
  sourceFile: string;
}

/** The entries of a package's `exports` map (each subpath through its `@taskwire/source` condition). */
export function packageEntries(packageDir: string): PackageEntry[] {
  const pkg = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
    name: string;
    exports?: Record<string, string | Record<string, string>>;
  };
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (subpath === "./package.json") continue;
    const source = typeof target === "string" ? target : target["@taskwire/source"];
    if (!source) throw new Error(`${pkg.name}: exports["${subpath}"] has no "@taskwire/source" condition`);
    entries.push({
      specifier: subpath === "." ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, "")}`,
      sourceFile: path.resolve(packageDir, source),
    });
  }
  return entries;
}

/**
 * Every name each source file exports, values and types alike, as the TypeScript checker sees them
 * (re-exports and `export *` resolved). One program for all files keeps it to one parse of the repo.
 */
export function exportedNames(
  sourceFiles: readonly string[],
  compilerOptions: ts.CompilerOptions = {},
): Map<string, string[]> {
  const program = ts.createProgram(sourceFiles, { noEmit: true, skipLibCheck: true, ...compilerOptions });
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const file of sourceFiles) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`cannot read ${file}`);
    const symbol = checker.getSymbolAtLocation(source);
    const names = symbol ? checker.getExportsOfModule(symbol).map((s) => s.getName()) : [];
    out.set(file, names.sort());
  }
  return out;
}

/** The compiler options of the root tsconfig (so `@taskwire/source` and paths resolve as in the typecheck). */
export function repoCompilerOptions(repoRoot: string): ts.CompilerOptions {
  const file = path.join(repoRoot, "tsconfig.json");
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
  return ts.parseJsonConfigFileContent(config, ts.sys, repoRoot).options;
}

/**
 * Names a README documents: the text of every inline code span, and for spans such as
 * `` `defineTask(options)` `` or `` `TaskRef<T>` `` the name before the call or type arguments.
 * Fenced code blocks do not count: an example is not documentation of a name.
 */
export function documentedNames(readme: string): Set<string> {
  const prose = readme.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  const names = new Set<string>();
  for (const match of prose.matchAll(/`([^`\n]+)`/g)) {
    const span = (match[1] as string).trim();
    names.add(span);
    const head = /^([A-Za-z_$][\w$]*)[(<]/.exec(span);
    if (head) names.add(head[1] as string);
  }
  return names;
}

/** The exported names that `readme` does not document (see {@link documentedNames}), sorted. */
export function undocumented(names: readonly string[], readme: string): string[] {
  const documented = documentedNames(readme);
  return names.filter((name) => !documented.has(name)).sort();
}
