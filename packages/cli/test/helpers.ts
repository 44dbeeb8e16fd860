import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createTaskflow, runInUserContext, type TaskEvent, type Taskflow } from "@taskwire/core";
import type { TaskStore } from "@taskwire/core/store";
import { type ServerProcess, spawnServer } from "@taskwire/testing/process";
import { vi } from "vitest";
import { approvalTask, childTask, flakyTask, parentTask, reportTask, SECRET } from "./fixtures/tasks";

const exec = promisify(execFile);
/** The repository root: the CLI runs from sources there, as `npx taskwire` would from a project. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
const WORKER = fileURLToPath(new URL("./fixtures/paced-worker.ts", import.meta.url));
const NODE_ARGS = ["--conditions=@taskwire/source", "--import", "tsx"];

/**
 * The CLI's environment: this one plus `env`, without any database variable `env` does not set, and
 * without vitest's `NODE_ENV=test` (which would silence the engine's default logger and hide a log line
 * written to stdout). The worker fixture keeps it, so its engine stays quiet.
 */
function childEnv(env: Record<string, string>, keepNodeEnv = false): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...process.env, ...env };
  for (const name of ["TASKWIRE_DB", "TASKWIRE_PG_URL", "TASKWIRE_PG_SCHEMA"]) {
    if (!(name in env)) out[name] = undefined; // undefined removes it (also from spawnServer's merge)
  }
  if (!keepNodeEnv) out.NODE_ENV = undefined;
  return out;
}

/** What one `taskwire` run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `taskwire <args>` as a child process (node + tsx, from the sources) and waits for it to exit. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...NODE_ARGS, BIN, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** Starts `taskwire <args>` and keeps it running (for --follow); `lines` collects stdout and stderr. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ServerProcess {
  return spawnServer({
    name: "taskwire",
    args: [...NODE_ARGS, BIN, ...args],
    cwd: ROOT,
    env: childEnv(env),
    listening: () => undefined,
  });
}

/** The worker fixture in its own process; resolves once it started `cli.paced` (with that task's id). */
export async function startPacedWorker(
  args: readonly string[],
): Promise<{ worker: ServerProcess; taskId: string }> {
  let taskId: string | undefined;
  const worker = spawnServer({
    name: "paced-worker",
    args: [...NODE_ARGS, WORKER, ...args],
    cwd: ROOT,
    env: childEnv({}, true),
    listening: () => undefined,
    onLine: (line) => {
      if (line.startsWith('{"taskId"')) taskId = (JSON.parse(line) as { taskId: string }).taskId;
    },
  });
  await vi.waitFor(
    () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.lines.join("\n")}`);
      if (!taskId) throw new Error("worker has not started its task yet");
    },
    { timeout: 20_000, interval: 50 },
  );
  return { worker, taskId: taskId as string };
}

/** Asserts an error exit: code 1, nothing on stdout, exactly one line on stderr and no stack frame. */
export function expectOneLineError(result: CliResult): string {
  const lines = result.stderr.trimEnd().split("\n");
  if (result.code !== 1 || result.stdout !== "" || lines.length !== 1 || /^\s+at /m.test(result.stderr)) {
    throw new Error(
      `expected one error line and exit 1, got ${result.code}:\n${result.stderr}${result.stdout}`,
    );
  }
  return lines[0] as string;
}

/** The tasks the CLI tests read, each in the state a test needs. */
export interface Seeded {
  taskflow: Taskflow;
  report: string;
  parent: string;
  child: string;
  flaky: string;
  toSignal: string;
  toCancel: string;
}

/**
 * A real taskflow (with its worker) in the test process on `store`, with one task of every kind: a
 * completed report (a step that took two attempts, a secret event payload and result), a parent with a
 * child, a failed task owned by someone else, and two tasks waiting for a signal.
 */
export async function seedTasks(store: TaskStore): Promise<Seeded> {
  const taskflow = await createTaskflow({
    store,
    pollIntervalMs: 50,
    leaseMs: 5_000,
  });
  const [report, parent, flaky, approval] = [reportTask, parentTask, flakyTask, approvalTask].map((t) =>
    taskflow.task(t),
  );
  taskflow.task(childTask);
  const alice = { userId: SECRET.owner, claims: { plan: "gold" } };
  const started = await runInUserContext(alice, async () => ({
    report: (await taskflow.start(report!, { label: SECRET.input })).taskId,
    parent: (await taskflow.start(parent!, {})).taskId,
    toSignal: (await taskflow.start(approval!, {})).taskId,
    toCancel: (await taskflow.start(approval!, {})).taskId,
  }));
  const flakyId = await runInUserContext(
    { userId: "other-owner" },
    async () => (await taskflow.start(flaky!, {})).taskId,
  );
  await Promise.all([started.report, started.parent, flakyId].map((id) => settled(taskflow, id)));
  await vi.waitFor(
    async () => {
      for (const id of [started.toSignal, started.toCancel]) {
        if ((await store.getTask(id))?.status !== "waiting") throw new Error(`${id} is not waiting yet`);
      }
    },
    { timeout: 10_000, interval: 20 },
  );
  const [child] = await store.listTasks({ parentId: started.parent });
  return { taskflow, ...started, flaky: flakyId, child: child!.id };
}

/** Every event of a task until its current terminal event. */
export async function settled(taskflow: Taskflow, taskId: string, afterSeq = 0): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const event of taskflow.subscribe(taskId, { afterSeq })) events.push(event);
  return events;
}
