import { createFakeClock, type FakeClock } from "@taskwire/testing";
import { pino } from "pino";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import {
  createTaskflow,
  defineTask,
  memoryStore,
  runInUserContext,
  type Taskflow,
  type TaskflowOptions,
} from "../src/index";
import { overridable } from "./helpers";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const done = defineTask({
  name: "retention.done",
  input: z.object({ n: z.number() }),
  result: z.object({ n: z.number() }),
  events: { note: z.object({ n: z.number() }) },
  async run(input, ctx) {
    ctx.emit("note", { n: input.n });
    return { n: input.n };
  },
});

/** A pino logger whose lines a test reads back. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "debug", base: null },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { logger, lines, events: (name: string) => lines.filter((l) => l.event === name) };
}

/** A taskflow on a fake clock: one-hour retention swept every 10 minutes, leases long enough to stay quiet. */
async function engine(clock: FakeClock, options: Partial<TaskflowOptions> = {}): Promise<Taskflow> {
  const taskflow = await createTaskflow({
    store: memoryStore(),
    clock,
    leaseMs: 30 * MINUTE,
    pollIntervalMs: 20,
    retentionMs: HOUR,
    retentionIntervalMs: 10 * MINUTE,
    logger: pino({ level: "silent" }),
    ...options,
  });
  onTestFinished(() => taskflow.shutdown());
  return taskflow;
}

async function completed(taskflow: Taskflow, n: number): Promise<string> {
  const { taskId } = await taskflow.start(taskflow.task(done), { n });
  await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"), {
    interval: 5,
  });
  return taskId;
}

const isGone = async (taskflow: Taskflow, taskId: string) =>
  taskflow.get(taskId).then(
    () => false,
    (error) => (error as { code?: string }).code === "TASK_NOT_FOUND",
  );

describe("retention sweeps", () => {
  it("a finished task is deleted once retentionMs has passed and a sweep ran; a younger one stays", async () => {
    const clock = createFakeClock();
    const log = capturedLogger();
    const taskflow = await engine(clock, { logger: log.logger });
    const old = await completed(taskflow, 1);
    await clock.advance(30 * MINUTE);
    const young = await completed(taskflow, 2);

    await clock.advance(30 * MINUTE - 1); // sweeps ran, but `old` finished less than an hour ago
    expect(await isGone(taskflow, old)).toBe(false);
    await clock.advance(13 * MINUTE); // past the hour, and at least one sweep (every 10 min ± 25 %) since
    expect(await isGone(taskflow, old)).toBe(true);
    expect(await taskflow.store.readEvents(old, 0, 10)).toEqual([]);
    expect(await isGone(taskflow, young)).toBe(false);
    await clock.advance(30 * MINUTE);
    expect(await isGone(taskflow, young)).toBe(true);

    const sweeps = log.events("retention.sweep_completed");
    expect(sweeps.map((l) => l.deleted).filter((n) => n !== 0)).toEqual([1, 1]);
    expect(log.events("retention.batch_deleted").map((l) => l.deleted)).toEqual([1, 1]);
    // Counts and durations only: no owner, no task id, no payload.
    for (const line of [...sweeps, ...log.events("retention.batch_deleted")]) {
      expect(Object.keys(line).sort()).toEqual(expect.arrayContaining(["deleted", "durationMs", "event"]));
      expect(JSON.stringify(line)).not.toMatch(/service|retention\.done|"n"/);
    }
  });

  it("deletes in batches of retentionBatchSize until a batch comes back short, all in one sweep", async () => {
    const clock = createFakeClock();
    const log = capturedLogger();
    const store = overridable(memoryStore());
    const batches: Array<[limit: number, deleted: number]> = [];
    const purge = store.purgeTasks.bind(store);
    store.purgeTasks = async (request) => {
      const deleted = await purge(request);
      batches.push([request.limit, deleted]);
      return deleted;
    };
    const taskflow = await engine(clock, { store, logger: log.logger, retentionBatchSize: 2 });
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push(await completed(taskflow, n));
    await clock.advance(HOUR + 13 * MINUTE);
    const deleting = batches.findIndex(([, deleted]) => deleted > 0);
    expect(batches.slice(deleting, deleting + 3)).toEqual([
      [2, 2],
      [2, 2],
      [2, 1],
    ]);
    expect(log.events("retention.sweep_completed").find((l) => l.deleted !== 0)).toMatchObject({
      deleted: 5,
      batches: 3,
    });
    for (const id of ids) expect(await isGone(taskflow, id)).toBe(true);
  });

  it("a failing sweep is logged and retried at the next interval, never thrown", async () => {
    const clock = createFakeClock();
    const log = capturedLogger();
    const store = overridable(memoryStore());
    let calls = 0;
    store.purgeTasks = async () => {
      calls += 1;
      throw new Error("database is down");
    };
    await engine(clock, { store, logger: log.logger });
    await clock.advance(5_000);
    expect(calls).toBe(1);
    await clock.advance(13 * MINUTE);
    expect(calls).toBe(2);
    expect(log.events("retention.sweep_failed")).toHaveLength(2);
  });

  it("shutdown stops the timer: no sweep afterwards, no timer left on the clock", async () => {
    const clock = createFakeClock();
    const store = overridable(memoryStore());
    let calls = 0;
    const purge = store.purgeTasks.bind(store);
    store.purgeTasks = (request) => {
      calls += 1;
      return purge(request);
    };
    const taskflow = await engine(clock, { store });
    await clock.advance(5_000);
    expect(calls).toBe(1);
    await taskflow.shutdown();
    expect(clock.pending()).toBe(0);
    await clock.advance(10 * HOUR);
    expect(calls).toBe(1);
  });

  it("runs only where the worker runs, and retentionMs: false turns it off", async () => {
    for (const options of [{ worker: false }, { retentionMs: false as const }]) {
      const clock = createFakeClock();
      const store = overridable(memoryStore());
      let calls = 0;
      store.purgeTasks = async () => {
        calls += 1;
        return 0;
      };
      await engine(clock, { store, ...options });
      await clock.advance(10 * HOUR);
      expect(calls, JSON.stringify(options)).toBe(0);
    }
  });

  it("refuses a retention that is not a positive number (0 would delete every task at once)", async () => {
    for (const bad of [{ retentionMs: 0 }, { retentionIntervalMs: -1 }, { retentionBatchSize: 1.5 }]) {
      await expect(createTaskflow({ store: memoryStore(), ...bad })).rejects.toThrow(TypeError);
    }
  });
});

describe("deleteTasksOfOwner", () => {
  async function started(taskflow: Taskflow, userId: string, n: number): Promise<string> {
    return runInUserContext({ userId }, async () => {
      const { taskId } = await taskflow.start(taskflow.task(done), { n });
      await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("completed"), {
        interval: 5,
      });
      return taskId;
    });
  }

  it("as the service: erases every task of that owner and nobody else's, logging the count only", async () => {
    const log = capturedLogger();
    const taskflow = await engine(createFakeClock(), { logger: log.logger, retentionBatchSize: 2 });
    const alice = [await started(taskflow, "alice", 1), await started(taskflow, "alice", 2)];
    alice.push(await started(taskflow, "alice", 3));
    const bob = await started(taskflow, "bob", 4);

    expect(await taskflow.deleteTasksOfOwner("alice")).toEqual({ deleted: 3 });
    for (const id of alice) expect(await isGone(taskflow, id)).toBe(true);
    expect(await isGone(taskflow, bob)).toBe(false);
    expect(await taskflow.deleteTasksOfOwner("alice")).toEqual({ deleted: 0 });
    const erased = log.events("task.owner_erased");
    expect(erased.map((l) => l.deleted)).toEqual([3, 0]);
    expect(JSON.stringify(erased)).not.toContain("alice");
  });

  it("in a user context: a user may erase their own tasks, never another user's", async () => {
    const log = capturedLogger();
    const taskflow = await engine(createFakeClock(), { logger: log.logger });
    const alice = await started(taskflow, "alice", 1);
    const bob = await started(taskflow, "bob", 2);
    const asAlice = <T>(fn: () => Promise<T>) => runInUserContext({ userId: "alice" }, fn);

    expect(await asAlice(() => taskflow.deleteTasksOfOwner("bob"))).toEqual({ deleted: 0 });
    expect(await isGone(taskflow, bob)).toBe(false);
    expect(log.events("task.owner_erase_refused")).toHaveLength(1);
    expect(JSON.stringify(log.events("task.owner_erase_refused"))).not.toMatch(/alice|bob/);
    expect(await asAlice(() => taskflow.deleteTasksOfOwner("alice"))).toEqual({ deleted: 1 });
    expect(await isGone(taskflow, alice)).toBe(true);
  });

  it("a run of an erased task stops at its next write without crashing the worker or bringing the task back", async () => {
    const log = capturedLogger();
    const taskflow = await createTaskflow({ store: memoryStore(), logger: log.logger, leaseMs: 60_000 });
    onTestFinished(() => taskflow.shutdown());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = false;
    const slow = taskflow.task(
      defineTask({
        name: "retention.slow",
        input: z.object({}),
        result: z.object({}),
        retry: { maxAttempts: 3, initialDelayMs: 1 },
        async run(_input, ctx) {
          await ctx.step("wait", async () => {
            entered = true;
            await gate;
          });
          return {};
        },
      }),
    );
    const { taskId } = await runInUserContext({ userId: "carol" }, () => taskflow.start(slow, {}));
    await vi.waitFor(() => expect(entered).toBe(true), { interval: 5 });

    expect(await taskflow.deleteTasksOfOwner("carol")).toEqual({ deleted: 1 });
    release();
    await vi.waitFor(() => expect(log.events("task.lease_lost").length).toBeGreaterThan(0), { interval: 5 });
    expect(await taskflow.store.getTask(taskId)).toBeUndefined();
    expect(await taskflow.store.loadHistory(taskId)).toEqual({ steps: [], eventNames: [] });
    expect(log.events("task.run_crashed")).toEqual([]);
    // The worker carries on.
    const { taskId: next } = await taskflow.start(taskflow.task(done), { n: 1 });
    await vi.waitFor(async () => expect((await taskflow.get(next)).status).toBe("completed"), {
      interval: 5,
    });
  });
});
