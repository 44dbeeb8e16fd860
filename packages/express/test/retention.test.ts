import { runInUserContext } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { createFakeClock, parseSSEResponse } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, type Harness, makeHarness, quickTask } from "./helpers";

const MINUTE = 60_000;

/** A finished `test.quick` task of alice, and its event stream read once while it exists. */
async function finishedTask(h: Harness): Promise<string> {
  const { taskId } = await runInUserContext({ userId: "alice" }, () => h.taskflow.start(quickTask, { n: 2 }));
  const sse = await parseSSEResponse(request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice));
  expect(sse.violations).toEqual([]);
  expect(sse.frames.map((f) => f.event)).toEqual(["ready", "tick", "tick", "completed"]);
  return taskId;
}

/** Every read route of a deleted task answers the same JSON 404 as a task that never existed. */
async function expectNotFound(h: Harness, taskId: string): Promise<void> {
  const notFound = {
    error: { code: "TASK_NOT_FOUND", message: `Task ${taskId} was not found.`, details: { taskId } },
  };
  for (const res of [
    await request(h.tw.app).get(`/api/tasks/${taskId}`).set(alice),
    await request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice),
    // A resume past the end of a finished task would be 204; a deleted one is not there at all.
    await request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(alice).set("Last-Event-ID", "3"),
    await request(h.tw.app).get(`/api/tasks/${taskId}/events?lastEventId=1`).set(alice),
  ]) {
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body).toEqual(notFound);
  }
  const list = await request(h.tw.app).get("/api/tasks").set(alice);
  expect(list.status).toBe(200);
  expect(JSON.stringify(list.body)).not.toContain(taskId);
}

describe("a deleted task over HTTP", () => {
  it("deleted by a retention sweep: snapshot and stream answer 404 (SQLite)", async () => {
    const clock = createFakeClock();
    const h = await makeHarness(onTestFinished, {
      store: sqliteStore({ path: ":memory:" }),
      taskflowOptions: {
        clock,
        leaseMs: 30 * MINUTE,
        retentionMs: 60 * MINUTE,
        retentionIntervalMs: 10 * MINUTE,
      },
    });
    const taskId = await finishedTask(h);
    expect((await request(h.tw.app).get(`/api/tasks/${taskId}`).set(alice)).status).toBe(200);
    await clock.advance(73 * MINUTE); // past the hour, and a sweep (every 10 min ± 25 %) since
    await vi.waitFor(async () => expect(await h.store.getTask(taskId)).toBeUndefined(), { interval: 5 });
    await expectNotFound(h, taskId);
  });

  it("erased with deleteTasksOfOwner: snapshot and stream answer 404 (SQLite)", async () => {
    const h = await makeHarness(onTestFinished, { store: sqliteStore({ path: ":memory:" }) });
    const taskId = await finishedTask(h);
    expect(await h.taskflow.deleteTasksOfOwner("alice")).toEqual({ deleted: 1 });
    await expectNotFound(h, taskId);
  });
});
