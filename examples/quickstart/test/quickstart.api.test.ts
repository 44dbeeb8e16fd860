import { memoryStore } from "@taskwire/core";
import { parseSSEResponse } from "@taskwire/testing";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { createQuickstart } from "../src/app";
import { digestOf } from "../src/report-task";

async function quickstart() {
  const { app, tw } = await createQuickstart({ store: memoryStore(), logger: pino({ level: "silent" }) });
  onTestFinished(() => tw.close());
  return app;
}

const alice = { cookie: "tw_demo_user=alice" };

describe("quickstart API", () => {
  it("streams a report from the plugin route as the signed-in user, and the digest matches the tokens", async () => {
    const app = await quickstart();
    const sse = await parseSSEResponse(
      request(app)
        .post("/api/reports/generate")
        .set(alice)
        .set("accept", "text/event-stream")
        .send({ chunks: 4, chunkMs: 0 }),
    );
    expect(sse.status).toBe(200);
    expect(sse.frames.map((f) => f.event)).toEqual([
      "ready",
      "progress",
      "progress",
      "progress",
      "progress",
      "completed",
    ]);
    expect(sse.frames.map((f) => f.id)).toEqual(["0", "1", "2", "3", "4", "5"]);
    const tokens = sse.frames
      .filter((f) => f.event === "progress")
      .map((f) => (f.data as { token: string }).token);
    const result = (sse.frames.at(-1)!.data as { result: { chunks: number; digest: string } }).result;
    expect(result).toEqual({
      chunks: 4,
      digest: digestOf(tokens),
    });
    const taskId = (sse.frames[0]!.data as { taskId: string }).taskId;
    const snapshot = await request(app).get(`/api/tasks/${taskId}`).set(alice);
    expect(snapshot.body).toMatchObject({
      taskId,
      task: "reports.generate",
      status: "completed",
      lastSeq: 5,
    });
  });

  it("answers invalid input with 400 naming the field, before any stream starts", async () => {
    const app = await quickstart();
    const res = await request(app).post("/api/reports/generate").set(alice).send({ chunks: 501 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details.issues[0].path).toBe("chunks");
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
  });

  it("answers 401 without an identity and never falls back to the service", async () => {
    const app = await quickstart();
    const res = await request(app).post("/api/reports/generate").send({ chunks: 1 });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
  });

  it("computes the digest as SPEC section 8 says: lowercase hex SHA-256 of the tokens joined by \\n", () => {
    expect(digestOf(["a", "b"])).toBe("7e18f737311b2dc3b2f269dd78396b0351f14fb66efa879f768cb23181883c78");
  });

  it("streams the README's curl call: the plugin route as the trusted-proxy user", async () => {
    const app = await quickstart();
    const sse = await parseSSEResponse(
      request(app)
        .post("/api/reports/generate")
        .set("x-forwarded-user", "alice")
        .set("content-type", "application/json")
        .set("accept", "text/event-stream")
        .send({ chunks: 5, chunkMs: 0 }),
    );
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => f.event)).toEqual(["ready", ...Array(5).fill("progress"), "completed"]);
  });

  it("treats a malformed demo cookie as no cookie (the header still identifies), never a 500", async () => {
    const app = await quickstart();
    const res = await request(app)
      .post("/api/tasks/reports.generate")
      .set("cookie", "tw_demo_user=%")
      .set("x-forwarded-user", "erin")
      .send({ chunks: 1, chunkMs: 0 });
    expect(res.status).toBe(202);
    expect((await request(app).get("/api/session").set("cookie", "tw_demo_user=%")).body).toEqual({
      user: null,
    });
  });

  it("accepts the trusted-proxy header when there is no demo cookie", async () => {
    const app = await quickstart();
    const res = await request(app)
      .post("/api/tasks/reports.generate")
      .set("x-forwarded-user", "carol")
      .send({ chunks: 1, chunkMs: 0 });
    expect(res.status).toBe(202);
    expect(
      (await request(app).get(`/api/tasks/${res.body.taskId}`).set("x-forwarded-user", "carol")).status,
    ).toBe(200);
  });

  it("hides alice's task from bob: 404 on snapshot, events and cancel", async () => {
    const app = await quickstart();
    const started = await request(app)
      .post("/api/tasks/reports.generate")
      .set(alice)
      .send({ chunks: 50, chunkMs: 50 });
    expect(started.status).toBe(202);
    const bob = { cookie: "tw_demo_user=bob" };
    const id = started.body.taskId as string;
    expect((await request(app).get(`/api/tasks/${id}`).set(bob)).status).toBe(404);
    expect((await request(app).get(`/api/tasks/${id}/events`).set(bob)).status).toBe(404);
    expect((await request(app).post(`/api/tasks/${id}/cancel`).set(bob)).status).toBe(404);
    const cancel = await request(app).post(`/api/tasks/${id}/cancel`).set(alice);
    expect(cancel.status).toBe(202);
    expect(cancel.body.outcome).toBe("requested");
  });

  it("validates the demo sign-in", async () => {
    const app = await quickstart();
    const res = await request(app).post("/api/session").send({ name: "no spaces allowed" });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('"name"');
    const ok = await request(app).post("/api/session").send({ name: "dave" });
    expect(ok.headers["set-cookie"]?.[0]).toContain("tw_demo_user=dave");
    expect((await request(app).get("/api/session").set("cookie", "tw_demo_user=dave")).body).toEqual({
      user: { userId: "dave" },
    });
  });
});
