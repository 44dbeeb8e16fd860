import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as coreA from "@taskwire/core";
import { createTaskwireApp } from "@taskwire/express";
import { pino } from "pino";
import request from "supertest";
import { build } from "tsup";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";

// An app that ends up with two copies of @taskwire/core (two versions, or a bundled and an installed
// copy): copy A is the workspace's (what @taskwire/express and this file import), copy B a second
// physical copy bundled into a fixture's node_modules and loaded by Node itself. Identity written
// through one copy must be seen by the other, or owner checks fail open.
type Core = typeof coreA;

const here = fileURLToPath(new URL(".", import.meta.url));
const coreSource = fileURLToPath(new URL("../../core/src/index.ts", import.meta.url));
const silent = pino({ level: "silent" });
let fixture: string;
let coreB: Core;

beforeAll(async () => {
  mkdirSync(join(here, ".tmp"), { recursive: true });
  fixture = mkdtempSync(join(here, ".tmp", "two-copies-"));
  const pkg = join(fixture, "node_modules", "@taskwire", "core");
  await build({
    config: false,
    entry: { index: coreSource },
    outDir: join(pkg, "dist"),
    format: ["esm"],
    platform: "node",
    target: "node20",
    dts: false,
    silent: true,
    keepNames: true,
    skipNodeModulesBundle: true, // zod and pino stay shared imports, as in an installed copy
  });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "@taskwire/core", type: "module", exports: { ".": "./dist/index.js" } }),
  );
  coreB = (await import(pathToFileURL(join(pkg, "dist", "index.js")).href)) as Core;
}, 60_000);

afterAll(() => {
  if (fixture) rmSync(fixture, { recursive: true, force: true });
  try {
    rmdirSync(join(here, ".tmp")); // only when empty: a concurrent run may still use it
  } catch {
    // not empty, or already gone
  }
});

/** Steps and user lookups from copy A, run by copy B's engine. */
const innerA = coreA.step("inner", () => coreA.getCurrentUserContext().userId);
const whoA = coreA.step("who", async () => ({
  user: coreA.getCurrentUserContext().userId,
  inner: await innerA(), // inside a step body: a plain call, not a nested checkpoint
}));

const report = coreA.defineTask({
  name: "two-copies.report",
  input: z.object({ rows: z.number() }),
  result: z.object({ stepUser: z.string(), innerUser: z.string(), ctxUser: z.string() }),
  async run(_input, ctx) {
    const { user, inner } = await whoA();
    return { stepUser: user, innerUser: inner, ctxUser: ctx.user.userId };
  },
});

async function taskflowB(): Promise<coreA.Taskflow> {
  const taskflow = await coreB.createTaskflow({
    store: coreB.memoryStore(),
    logger: silent,
    pollIntervalMs: 20,
  });
  onTestFinished(() => taskflow.shutdown());
  return taskflow;
}

async function drain(taskflow: coreA.Taskflow, taskId: string): Promise<coreA.TaskEvent[]> {
  const events: coreA.TaskEvent[] = [];
  for await (const event of taskflow.subscribe(taskId)) events.push(event);
  return events;
}

const notFound = (attempt: () => Promise<unknown>) =>
  attempt().then(
    () => "read",
    (error: unknown) => (coreA.isTaskwireError(error, "TASK_NOT_FOUND") ? "not found" : String(error)),
  );

describe("two copies of @taskwire/core in one process", () => {
  it("are really two module instances", () => {
    expect(coreB.createTaskflow).not.toBe(coreA.createTaskflow);
  });

  it("share the user context: a user entered through copy A owns and alone reads a task on copy B", async () => {
    const taskflow = await taskflowB();
    const ref = taskflow.task(report);
    const alice = { userId: "alice" };
    const { taskId } = await coreA.runInUserContext(alice, () => taskflow.start(ref, { rows: 1 }));
    expect(coreB.runInUserContext(alice, () => coreA.getCurrentUserContext().userId)).toBe("alice");

    const events = await coreA.runInUserContext(alice, () => drain(taskflow, taskId));
    expect(events.at(-1)?.data).toEqual({
      result: { stepUser: "alice", innerUser: "alice", ctxUser: "alice" },
    });
    // copy A's step() was a checkpoint of copy B's engine, and the nested one inside its body was not.
    expect((await taskflow.store.loadHistory(taskId)).steps.map((s) => s.key)).toEqual(["who#0"]);

    await coreA.runInUserContext({ userId: "bob" }, async () => {
      expect(await notFound(() => taskflow.get(taskId))).toBe("not found");
      expect(await notFound(() => drain(taskflow, taskId))).toBe("not found");
      expect(await notFound(() => taskflow.cancel(taskId))).toBe("not found");
      expect(await taskflow.list()).toEqual([]);
    });
    const mine = await coreA.runInUserContext(alice, () => taskflow.list());
    expect(mine.map((t) => [t.taskId, t.owner])).toEqual([[taskId, "alice"]]);
  });

  it("over HTTP: express (copy A) in front of a taskflow from copy B answers 404 to another user", async () => {
    const taskflow = await taskflowB();
    taskflow.task(report);
    const tw = await createTaskwireApp({ taskflow, logger: silent });
    onTestFinished(() => tw.close());
    const started = await request(tw.app)
      .post("/api/tasks/two-copies.report")
      .set("x-forwarded-user", "alice")
      .send({ rows: 1 });
    expect(started.status).toBe(202);
    const taskId: string = started.body.taskId;
    await coreA.runInUserContext({ userId: "alice" }, () => drain(taskflow, taskId));

    const asBob = { "x-forwarded-user": "bob" };
    expect((await request(tw.app).get(`/api/tasks/${taskId}`).set(asBob)).status).toBe(404);
    expect((await request(tw.app).get(`/api/tasks/${taskId}/events`).set(asBob)).status).toBe(404);
    expect((await request(tw.app).post(`/api/tasks/${taskId}/cancel`).set(asBob)).status).toBe(404);
    const own = await request(tw.app).get(`/api/tasks/${taskId}`).set("x-forwarded-user", "alice");
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ taskId, status: "completed" });
    expect((await coreA.runInUserContext({ userId: "alice" }, () => taskflow.get(taskId))).owner).toBe(
      "alice",
    );
  });
});
