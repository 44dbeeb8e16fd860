import { runInUserContext, type Taskflow, TaskNotFoundError } from "@taskwire/core";
import { parseSSEResponse } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  alice,
  blockingTask,
  bob,
  failingTask,
  faultyStore,
  makeHarness,
  newKey,
  quickTask,
  release,
} from "./helpers";

async function finished(taskflow: Taskflow, taskId: string) {
  for await (const _ of taskflow.subscribe(taskId)) {
    // drain to the terminal event
  }
}

describe("POST /tasks/:name", () => {
  it("starts a task and answers 202 { taskId, created, eventsUrl }", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app).post("/api/tasks/test.quick").set(alice).send({ n: 2 });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      taskId: expect.any(String),
      created: true,
      eventsUrl: `/api/tasks/${res.body.taskId}/events`,
    });
    expect(res.headers.location).toBe(`/api/tasks/${res.body.taskId}`);
    const snapshot = await runInUserContext({ userId: "alice" }, () => h.taskflow.get(res.body.taskId));
    expect(snapshot.owner).toBe("alice");
  });

  it("streams at once with Accept: text/event-stream, from ready id 0 to the terminal frame", async () => {
    const h = await makeHarness(onTestFinished);
    const sse = await parseSSEResponse(
      request(h.tw.app)
        .post("/api/tasks/test.quick")
        .set(alice)
        .set("Accept", "text/event-stream")
        .send({ n: 2 }),
    );
    expect(sse.status).toBe(200);
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => [f.id, f.event])).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "tick"],
      ["3", "completed"],
    ]);
    expect(sse.frames[0]?.data).toMatchObject({ task: "test.quick" });
  });

  it("answers 400 INVALID_JSON for a malformed body", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("Content-Type", "application/json")
      .send('{"n": 2');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { code: "INVALID_JSON", message: "The request body is not valid JSON." },
    });
  });

  it("answers 400 VALIDATION_ERROR naming the field, with zod issues in details, and stores nothing", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app).post("/api/tasks/test.quick").set(alice).send({ n: "many" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.message).toContain('"n"');
    expect(res.body.error.details.issues).toEqual([
      expect.objectContaining({ path: "n", code: "invalid_type" }),
    ]);
    expect(await h.store.listTasks()).toEqual([]);
  });

  it("answers 400 for the same input error when streaming, before any SSE header", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("Accept", "text/event-stream")
      .send({ n: -1 });
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body.error.details.issues[0].path).toBe("n");
  });

  it("answers 404 UNKNOWN_TASK for an unregistered or unexposed name", async () => {
    const h = await makeHarness(onTestFinished, { router: { expose: ["test.quick"] } });
    const unknown = await request(h.tw.app).post("/api/tasks/nope.nothing").set(alice).send({});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({
      code: "UNKNOWN_TASK",
      message: 'No task named "nope.nothing" is registered.',
      details: { task: "nope.nothing" },
    });
    const hidden = await request(h.tw.app).post("/api/tasks/test.failing").set(alice).send({});
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe("UNKNOWN_TASK");
  });

  it("deduplicates by Idempotency-Key per owner and answers 409 for a different input", async () => {
    const h = await makeHarness(onTestFinished);
    const start = (user: Record<string, string>, n: number) =>
      request(h.tw.app).post("/api/tasks/test.quick").set(user).set("Idempotency-Key", "k-1").send({ n });
    const first = await start(alice, 1);
    const again = await start(alice, 1);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ taskId: first.body.taskId, created: false });
    const conflict = await start(alice, 2);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    const otherOwner = await start(bob, 2);
    expect(otherOwner.status).toBe(202);
    expect(otherOwner.body.created).toBe(true);
  });

  it("answers 400 BAD_REQUEST for a malformed Idempotency-Key", async () => {
    const h = await makeHarness(onTestFinished);
    const res = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("Idempotency-Key", "x".repeat(300))
      .send({});
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
  });

  it("answers 413 PAYLOAD_TOO_LARGE past the body limit", async () => {
    const h = await makeHarness(onTestFinished, { bodyLimit: 256 });
    const res = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .send({ n: 1, pad: "x".repeat(1000) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limitBytes: 256 } });
  });

  it("answers 429 with Retry-After past the per-owner active task limit; other owners are unaffected", async () => {
    const h = await makeHarness(onTestFinished, {
      limits: { maxActiveTasksPerOwner: 2, retryAfterSeconds: 7 },
      taskflowOptions: { worker: false }, // tasks stay queued, i.e. active
    });
    const start = (user: Record<string, string>) =>
      request(h.tw.app).post("/api/tasks/test.quick").set(user).send({ n: 1 });
    expect((await start(alice)).status).toBe(202);
    expect((await start(alice)).status).toBe(202);
    const limited = await start(alice);
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("7");
    expect(limited.body.error).toMatchObject({ code: "BACKPRESSURE", details: { retryAfterMs: 7000 } });
    const streamed = await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .set("Accept", "text/event-stream")
      .send({ n: 1 });
    expect(streamed.status).toBe(429);
    expect((await start(bob)).status).toBe(202);
    expect(await h.store.listTasks({ owner: "alice" })).toHaveLength(2);
  });

  it("lets a start that re-attaches by idempotency key through at the limit, and never overshoots it", async () => {
    const h = await makeHarness(onTestFinished, {
      limits: { maxActiveTasksPerOwner: 2 },
      taskflowOptions: { worker: false },
    });
    const start = (key?: string) => {
      const req = request(h.tw.app).post("/api/tasks/test.quick").set(alice);
      return (key ? req.set("Idempotency-Key", key) : req).send({ n: 1 });
    };
    const first = await start("refresh");
    expect(first.status).toBe(202);
    const racing = await Promise.all([start(), start(), start(), start()]);
    expect(racing.map((r) => r.status).sort()).toEqual([202, 429, 429, 429]);
    const again = await start("refresh"); // a page refresh at the limit re-attaches, it is not refused
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ taskId: first.body.taskId, created: false });
    expect(await h.store.listTasks({ owner: "alice" })).toHaveLength(2);
  });
});

describe("GET /tasks/:taskId", () => {
  it("answers the JSON-safe snapshot", async () => {
    const h = await makeHarness(onTestFinished);
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(quickTask, { n: 2 }),
    );
    await finished(h.taskflow, taskId);
    const res = await request(h.tw.app).get(`/api/tasks/${taskId}`).set(alice);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      taskId,
      task: "test.quick",
      status: "completed",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastSeq: 3,
      result: { n: 2, total: (2n ** 64n).toString() },
    });
  });

  it("includes the error of a failed task as { code, message }", async () => {
    const h = await makeHarness(onTestFinished);
    const { taskId } = await runInUserContext({ userId: "alice" }, () => h.taskflow.start(failingTask, {}));
    await finished(h.taskflow, taskId);
    const res = await request(h.tw.app).get(`/api/tasks/${taskId}`).set(alice);
    expect(res.body).toMatchObject({
      status: "failed",
      error: { code: "HANDLER_ERROR", message: "the printer is on fire" },
    });
    expect(res.body.result).toBeUndefined();
  });
});

describe("POST /tasks/:taskId/cancel", () => {
  it("answers 202 with the resulting status and outcome; a second cancel says already_finished", async () => {
    const h = await makeHarness(onTestFinished, { taskflowOptions: { worker: false } });
    const { taskId } = await runInUserContext({ userId: "alice" }, () => h.taskflow.start(quickTask, {}));
    const res = await request(h.tw.app).post(`/api/tasks/${taskId}/cancel`).set(alice);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ taskId, status: "cancelled", outcome: "cancelled" });
    const again = await request(h.tw.app).post(`/api/tasks/${taskId}/cancel`).set(alice);
    expect(again.body).toEqual({ taskId, status: "cancelled", outcome: "already_finished" });
  });

  it("answers 404 for a task deleted between the owner check and the cancel (outcome not_found)", async () => {
    const faulty = faultyStore();
    const h = await makeHarness(onTestFinished, { store: faulty.store, taskflowOptions: { worker: false } });
    const { taskId } = await runInUserContext({ userId: "alice" }, () => h.taskflow.start(quickTask, {}));
    faulty.fail("requestCancel", new TaskNotFoundError(taskId)); // what a store says for a deleted task
    const res = await request(h.tw.app).post(`/api/tasks/${taskId}/cancel`).set(alice);
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({
      code: "TASK_NOT_FOUND",
      message: `Task ${taskId} was not found.`,
      details: { taskId },
    });
  });
});

describe("identity", () => {
  it("answers 401 on every route without a resolved user, and for a claimed service identity", async () => {
    const h = await makeHarness(onTestFinished);
    const { taskId } = await runInUserContext({ userId: "alice" }, () => h.taskflow.start(quickTask, {}));
    const routes = [
      () => request(h.tw.app).post("/api/tasks/test.quick").send({}),
      () => request(h.tw.app).get(`/api/tasks/${taskId}`),
      () => request(h.tw.app).get(`/api/tasks/${taskId}/events`),
      () => request(h.tw.app).post(`/api/tasks/${taskId}/cancel`),
      () => request(h.tw.app).post(`/api/tasks/${taskId}/signals/approve`).send({}),
      () => request(h.tw.app).post(`/api/tasks/${taskId}/retry`),
      () => request(h.tw.app).get(`/api/tasks/${taskId}`).set("x-forwarded-user", "service"),
      () => request(h.tw.app).get(`/api/tasks/${taskId}`).set("x-forwarded-user", "a".repeat(300)),
    ];
    for (const route of routes) {
      const res = await route();
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
    }
    expect(await h.store.listTasks()).toHaveLength(1);
  });

  it("answers 404 (not 403) for another owner's task on get, events and cancel; the task is untouched", async () => {
    const h = await makeHarness(onTestFinished);
    const key = newKey();
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(blockingTask, { key }),
    );
    for (const res of [
      await request(h.tw.app).get(`/api/tasks/${taskId}`).set(bob),
      await request(h.tw.app).get(`/api/tasks/${taskId}/events`).set(bob),
      await request(h.tw.app).post(`/api/tasks/${taskId}/cancel`).set(bob),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: { code: "TASK_NOT_FOUND", message: `Task ${taskId} was not found.`, details: { taskId } },
      });
    }
    const snapshot = await h.store.getTask(taskId);
    expect(snapshot?.cancelRequestedAt).toBeNull();
    release(key);
  });

  it("never logs access tokens or payload contents", async () => {
    const h = await makeHarness(onTestFinished);
    await parseSSEResponse(
      request(h.tw.app)
        .post("/api/tasks/test.quick")
        .set(alice)
        .set("Accept", "text/event-stream")
        .send({ n: 1, secretPayloadField: "do-not-log-me" }),
    );
    await request(h.tw.app)
      .post("/api/tasks/test.quick")
      .set(alice)
      .send({ n: "bad", secret: "do-not-log-me" });
    expect(h.log.find("sse.stream_opened")).toHaveLength(1);
    expect(h.log.text()).not.toContain("alice-secret-token");
    expect(h.log.text()).not.toContain("do-not-log-me");
  });
});

describe("errors", () => {
  async function brokenApp(production: boolean) {
    const faulty = faultyStore();
    const h = await makeHarness(onTestFinished, { store: faulty.store, production });
    faulty.fail("getTask", new Error("connect ECONNREFUSED 10.0.0.3:5432"));
    const res = await request(h.tw.app).get("/api/tasks/t-1").set(alice);
    faulty.heal();
    return { h, res };
  }

  it("masks internal messages in production; the detail goes only to the log; never a stack", async () => {
    const { h, res } = await brokenApp(true);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    const logged = h.log.find("http.request_failed")[0];
    expect(JSON.stringify(logged)).toContain("ECONNREFUSED 10.0.0.3:5432");
  });

  it("shows the message (still no stack) outside production", async () => {
    const { res } = await brokenApp(false);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: "INTERNAL", message: "connect ECONNREFUSED 10.0.0.3:5432" } });
    expect(res.text).not.toContain("stack");
  });

  it("answers a JSON 404 for unknown API routes without swallowing routes added after the app", async () => {
    const h = await makeHarness(onTestFinished);
    h.tw.app.get("/index.html", (_req, res) => {
      res.type("html").send("<h1>hi</h1>");
    });
    const missing = await request(h.tw.app).get("/api/nothing/here?x=1").set(alice);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { code: "NOT_FOUND", message: "No route for GET /api/nothing/here." },
    });
    const page = await request(h.tw.app).get("/index.html");
    expect(page.status).toBe(200);
    expect(page.text).toBe("<h1>hi</h1>");
  });
});
