import { defineWorkspace } from "vitest/config";
import { shared } from "./vitest.shared";

const project = (name: string, root: string, extra: Record<string, unknown> = {}) => ({
  ...shared,
  test: {
    ...shared.test,
    name,
    root,
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    ...extra,
  },
});

export default defineWorkspace([
  project("core", "packages/core"),
  project("testing", "packages/testing"),
  project("sqlite", "packages/sqlite"),
  project("postgres", "packages/postgres"),
  project("express", "packages/express"),
  project("client", "packages/client"),
  project("cli", "packages/cli"),
  project("inspector", "packages/inspector"),
  project("quickstart", "examples/quickstart"),
  project("multi-node", "examples/multi-node"),
  project("tools", "tools"),
]);
