import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { prepareBundledScript, REPO_ROOT, type ScriptCommand } from "../bundled-script";

const HERE = dirname(fileURLToPath(import.meta.url));
const prepared = new Map<string, Promise<ScriptCommand>>();

/**
 * The command of a child script of the bench (path relative to tools/bench), bundled once per process
 * with the shared tsup recipe (`BENCH_TSX=1` runs it through tsx instead).
 */
export function childScript(relativePath: string): Promise<ScriptCommand> {
  let command = prepared.get(relativePath);
  if (!command) {
    command = prepareBundledScript({
      source: join(HERE, relativePath),
      cacheName: "taskwire-bench",
      useTsx: process.env.BENCH_TSX === "1",
    });
    prepared.set(relativePath, command);
  }
  return command;
}

/** Removes every bundle built by {@link childScript}. */
export async function disposeChildScripts(): Promise<void> {
  for (const command of prepared.values()) (await command).dispose();
  prepared.clear();
}

/** A running child script and its stdout lines. */
export interface ChildHandle {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line that `match` accepts (rejects if the child exits first). */
  line(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Everything the child wrote to stderr so far (for error messages). */
  stderr(): string;
  /** SIGKILLs the child (if still running) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node <script> <JSON arg>` from the repo root. */
export async function spawnChild(relativePath: string, arg: unknown): Promise<ChildHandle> {
  const command = await childScript(relativePath);
  const child = spawn(process.execPath, [...command.args, JSON.stringify(arg)], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    child,
    stderr: () => stderr,
    async line(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = 0; ; ) {
        for (; seen < lines.length; seen++) if (match(lines[seen]!)) return lines[seen]!;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${relativePath} exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
        if (Date.now() > deadline) throw new Error(`${relativePath}: no matching line in ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => waiters.push(resolve)),
          exited,
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
