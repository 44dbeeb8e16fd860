import { createTaskflow, memoryStore } from "@taskwire/core";
import {
  createSseBridge,
  createTaskRouter,
  defaultResolveUser,
  taskwireErrorHandler,
} from "@taskwire/express";
import { parseSSEResponse } from "@taskwire/testing";
import express from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, quickTask } from "./helpers";

describe("building blocks without createTaskwireApp", () => {
  it("createTaskRouter works in any express app and answers its own errors as JSON", async () => {
    const logger = pino({ level: "silent" });
    const taskflow = await createTaskflow({ store: memoryStore(), logger, pollIntervalMs: 20 });
    onTestFinished(() => taskflow.shutdown());
    taskflow.task(quickTask);
    const bridge = createSseBridge({ taskflow, sse: { retryMs: 500 }, production: true });
    onTestFinished(() => bridge.close());
    // The SPEC's defaults, spelled out: heartbeat every 15 s, a 5 s disconnect grace.
    expect(bridge.sse).toEqual({
      heartbeatMs: 15_000,
      retryMs: 500,
      maxBufferedBytes: 1_048_576,
      drainTimeoutMs: 10_000,
      disconnectGraceMs: 5_000,
    });
    const app = express();
    app.use("/v1", express.json(), createTaskRouter(bridge));
    app.use(taskwireErrorHandler({ production: true, logger }));

    const started = await parseSSEResponse(
      request(app).post("/v1/tasks/test.quick").set(alice).set("Accept", "text/event-stream").send({ n: 1 }),
    );
    expect(started.frames.map((f) => f.event)).toEqual(["ready", "tick", "completed"]);
    expect(started.frames[0]?.retry).toBe(500);
    const accepted = await request(app).post("/v1/tasks/test.quick").set(alice).send({ n: 1 });
    expect(accepted.body.eventsUrl).toBe(`/v1/tasks/${accepted.body.taskId}/events`);
    const unauthenticated = await request(app).get("/v1/tasks/x");
    expect(unauthenticated.status).toBe(401);
    const invalid = await request(app)
      .post("/v1/tasks/test.quick")
      .set(alice)
      .set("Content-Type", "application/json")
      .send("{");
    expect(invalid.body.error.code).toBe("INVALID_JSON"); // body-parser error through taskwireErrorHandler
  });

  it("defaultResolveUser reads the trusted-proxy headers and nothing else", () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as express.Request;
    expect(
      defaultResolveUser(req({ "x-forwarded-user": "alice", "x-forwarded-access-token": "t0k" })),
    ).toEqual({
      userId: "alice",
      accessToken: "t0k",
    });
    expect(defaultResolveUser(req({ "x-forwarded-user": "bob" }))).toEqual({ userId: "bob" });
    expect(defaultResolveUser(req({ authorization: "Bearer x", "x-user": "alice" }))).toBeUndefined();
    expect(defaultResolveUser(req({ "x-forwarded-user": "" }))).toBeUndefined();
    expect(defaultResolveUser(req({ "x-forwarded-user": "a\u0001b" }))).toBeUndefined();
  });
});
