#!/usr/bin/env node
// Works around npm/cli#4828: npm 11 writes package-lock.json without the other platforms' optional
// native packages (e.g. @rollup/rollup-darwin-arm64, @biomejs/cli-win32-x64), and `npm ci` then refuses
// the lockfile as out of sync. This adds each missing entry as an optional package restricted, by its
// name's platform suffix, to the os/cpu/libc it is built for, so npm ci accepts the lockfile and skips
// the package on every other platform without fetching it. (The registry mirror reachable from our
// machines does not serve those builds, so their integrity cannot be recorded; a machine of that
// platform resolves them from its own registry.) Run after any `npm install` that rewrites the lockfile:
//   node tools/lockfile/fill-optional.mjs
import { readFileSync, writeFileSync } from "node:fs";

const OS = [
  "android",
  "darwin",
  "freebsd",
  "linux",
  "netbsd",
  "openbsd",
  "openharmony",
  "sunos",
  "win32",
  "aix",
];
const CPU = ["arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x", "mips64el", "wasm32"];

const file = new URL("../../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries({ ...packages })) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const location = `node_modules/${name}`;
    if (packages[`${path ? `${path}/` : ""}${location}`] || packages[location]) continue;
    const parts = name.split("/").pop().split("-");
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${name} (optional dependency of ${path})`);
    const fill = { version, optional: true };
    if (entry.dev) fill.dev = true;
    fill.cpu = [cpu];
    if (parts.includes("musl")) fill.libc = ["musl"];
    else if (os === "linux" && parts.includes("gnu")) fill.libc = ["glibc"];
    fill.os = [os];
    packages[location] = fill;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fill-optional: ${added} optional platform entries added to package-lock.json`);
