import type { AddressInfo } from "node:net";
import { createTaskwireApp, type TaskwireApp } from "@taskwire/express";
import {
  createFakeClock,
  createStubTaskflow,
  openSSE,
  parseSSEResponse,
  type StubTaskflow,
} from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { resolveDemoUser } from "../src/demo-session";
import { digestOf, generateReport } from "../src/report-task";
import { ReportsPlugin } from "../src/reports-plugin";

// Unit tests of the `reports` plugin's route: no database, no real report rendering, no waiting. The stub
// taskflow runs the real engine over a memory store, with the task's body scripted here.

async function mountReports(taskflow: StubTaskflow): Promise<TaskwireApp> {
  const tw = await createTaskwireApp({
    taskflow,
    plugins: [new ReportsPlugin()],
    resolveUser: resolveDemoUser,
  });
  onTestFinished(() => tw.close());
  return tw;
}

const alice = { cookie: "tw_demo_user=alice", accept: "text/event-stream" };

describe("ReportsPlugin: POST /api/reports/generate", () => {
  it("starts reports.generate as the signed-in user, with the input's defaults, and streams its run", async () => {
    const taskflow = await createStubTaskflow();
    const tokens = ["aaaa", "bbbb"];
    taskflow.respond(generateReport, {
      events: tokens.map((token, i) => ["progress", { done: i + 1, total: 2, token }] as const),
      result: { chunks: 2, digest: digestOf(tokens) },
    });
    const tw = await mountReports(taskflow);

    const sse = await parseSSEResponse(
      request(tw.app).post("/api/reports/generate").set(alice).send({ chunks: 2 }),
    );
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => f.event)).toEqual(["ready", "progress", "progress", "completed"]);
    expect(sse.frames.at(-1)?.data).toEqual({ result: { chunks: 2, digest: digestOf(tokens) } });
    expect(taskflow.starts).toEqual([
      expect.objectContaining({
        task: "reports.generate",
        input: { chunks: 2, chunkMs: 300 },
        owner: "alice",
        created: true,
      }),
    ]);
  });

  it("passes the Idempotency-Key header on: a repeated POST re-attaches to the same run", async () => {
    const taskflow = await createStubTaskflow();
    let runs = 0;
    taskflow.on(generateReport, (input) => {
      runs += 1;
      return { chunks: input.chunks, digest: digestOf([]) };
    });
    const tw = await mountReports(taskflow);
    const post = () =>
      parseSSEResponse(
        request(tw.app).post("/api/reports/generate").set(alice).set("Idempotency-Key", "refresh-1").send({}),
      );
    const first = await post();
    const second = await post();
    expect(second.frames.at(-1)?.event).toBe("completed");
    expect(taskflow.starts.map((s) => [s.options.idempotencyKey, s.created])).toEqual([
      ["refresh-1", true],
      ["refresh-1", false],
    ]);
    expect(taskflow.starts[1]?.taskId).toBe(taskflow.starts[0]?.taskId);
    // Both streams are of the one run (their ready frames name it; its status depends on when each opened).
    expect(second.frames[0]?.data).toMatchObject({ taskId: taskflow.starts[0]?.taskId });
    expect(first.frames[0]?.data).toMatchObject({ taskId: taskflow.starts[0]?.taskId });
    expect(runs).toBe(1);
  });

  it("refuses a caller without identity (401) and bad input (400), starting nothing", async () => {
    const taskflow = await createStubTaskflow();
    const tw = await mountReports(taskflow);
    const anonymous = await request(tw.app).post("/api/reports/generate").send({ chunks: 2 });
    expect(anonymous.status).toBe(401);
    const invalid = await request(tw.app).post("/api/reports/generate").set(alice).send({ chunks: 0 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.issues[0].path).toBe("chunks");
    expect(taskflow.starts).toEqual([]);
  });

  it("streams each chunk as it is rendered: a ten-minute report on the fake clock, in milliseconds", async () => {
    const clock = createFakeClock();
    const taskflow = await createStubTaskflow({ clock });
    // Renders like the real task (one chunk every chunkMs), but sleeping on the engine's fake clock.
    taskflow.on(generateReport, async (input, ctx) => {
      const tokens: string[] = [];
      for (let done = 1; done <= input.chunks; done++) {
        await clock.sleep(input.chunkMs, ctx.signal);
        tokens.push(`token-${done}`);
        ctx.emit("progress", { done, total: input.chunks, token: `token-${done}` });
      }
      return { chunks: input.chunks, digest: digestOf(tokens) };
    });
    const tw = await mountReports(taskflow);
    const server = tw.app.listen(0, "127.0.0.1");
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const started = performance.now();

    const sse = await openSSE(`${base}/api/reports/generate`, {
      method: "POST",
      headers: { cookie: alice.cookie, "content-type": "application/json" },
      body: JSON.stringify({ chunks: 60, chunkMs: 10_000 }),
    });
    onTestFinished(() => sse.close());
    expect(sse.status).toBe(200);
    expect((await sse.next()).event).toBe("ready");

    await clock.advance(10_000);
    expect(await sse.next()).toMatchObject({ event: "progress", id: "1", data: { done: 1, total: 60 } });
    // Streamed live: the run is still going when its first progress reaches the client.
    const { taskId } = taskflow.starts[0]!;
    expect((await taskflow.get(taskId)).status).toBe("running");

    await clock.advance(59 * 10_000);
    await sse.ended;
    expect(
      sse.frames.filter((f) => f.event === "progress").map((f) => (f.data as { done: number }).done),
    ).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(sse.frames.at(-1)).toMatchObject({ event: "completed", data: { result: { chunks: 60 } } });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
