import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { documentedNames, exportedNames, packageEntries, undocumented } from "./exported-names";

/** A temporary directory with `files` written into it, removed after the test. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "check-exports-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe("exportedNames", () => {
  it("lists values and type-only names, through renames, type re-exports and export *", () => {
    const dir = fixture({
      "index.ts": [
        "export const value = 1;",
        "export function fn(): void {}",
        "export interface Shape { a: number }",
        "export type Alias = string;",
        'export { inner as renamed, type InnerType } from "./inner";',
        'export * from "./star";',
      ].join("\n"),
      "inner.ts": "export const inner = 2; export type InnerType = number; export const notReExported = 3;",
      "star.ts": "export class Starred {} export type StarType = boolean;",
    });
    const file = path.join(dir, "index.ts");
    expect(exportedNames([file]).get(file)).toEqual(
      ["Alias", "InnerType", "Shape", "StarType", "Starred", "fn", "renamed", "value"].sort(),
    );
  });
});

describe("documentedNames / undocumented", () => {
  const readme = [
    "# pkg",
    "Use `defineTask(options)` and `TaskRef<T>` with `ErrorCode`; `taskflow.start(task)` is a method.",
    "| `sqliteStore` | the store |",
    "```ts",
    "import { onlyInExample } from 'pkg';",
    "```",
  ].join("\n");

  it("counts inline code spans and the name before a call or type arguments, not fenced examples", () => {
    const names = documentedNames(readme);
    for (const name of ["defineTask", "TaskRef", "ErrorCode", "sqliteStore"]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(names.has("onlyInExample")).toBe(false);
    expect(names.has("start")).toBe(false); // a method mentioned in a span is not the exported name
  });

  it("returns the undocumented names, sorted", () => {
    expect(undocumented(["sqliteStore", "zeta", "onlyInExample", "defineTask", "alpha"], readme)).toEqual([
      "alpha",
      "onlyInExample",
      "zeta",
    ]);
  });
});

describe("packageEntries", () => {
  it("maps every exports subpath to its specifier and its @taskwire/source file", () => {
    const dir = fixture({
      "package.json": JSON.stringify({
        name: "@taskwire/x",
        exports: {
          ".": { "@taskwire/source": "./src/index.ts", default: "./dist/index.js" },
          "./store": { "@taskwire/source": "./src/store.ts", default: "./dist/store.js" },
          "./package.json": "./package.json",
        },
      }),
    });
    expect(packageEntries(dir)).toEqual([
      { specifier: "@taskwire/x", sourceFile: path.join(dir, "src/index.ts") },
      { specifier: "@taskwire/x/store", sourceFile: path.join(dir, "src/store.ts") },
    ]);
  });
});
