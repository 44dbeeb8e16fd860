import type { AddressInfo } from "node:net";
import { memoryStore, type TaskStore } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { openSSE, parseSSEResponse, type SSEConnection, type SSEFrame } from "@taskwire/testing";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { createQuickstart } from "../src/app";
import { digestOf } from "../src/report-task";

const alice = { cookie: "tw_demo_user=alice" };

interface ChildData {
  taskId: string;
  task: string;
  status: string;
}
interface BatchResult {
  parts: { taskId: string; digest: string }[];
  approved: boolean | null;
}

const childFrames = (frames: SSEFrame[], status?: string) =>
  frames
    .filter((f) => f.event === "child")
    .map((f) => f.data as ChildData)
    .filter((c) => status === undefined || c.status === status);

describe.each([
  ["memory", (): TaskStore => memoryStore()],
  ["SQLite", (): TaskStore => sqliteStore({ path: ":memory:" })],
])("reports.batch over HTTP (%s store)", (_name, makeStore) => {
  async function quickstart() {
    const { app, tw } = await createQuickstart({ store: makeStore(), logger: pino({ level: "silent" }) });
    const server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    onTestFinished(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await tw.close();
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { app, base };
  }

  /** Starts a batch as alice and returns its live stream (the plugin route streams at once). */
  async function startBatch(base: string, input: Record<string, unknown>): Promise<SSEConnection> {
    const sse = await openSSE(`${base}/api/reports/batch`, {
      method: "POST",
      headers: { ...alice, "content-type": "application/json" },
      body: JSON.stringify(input),
      timeoutMs: 10_000,
    });
    onTestFinished(() => sse.close());
    expect(sse.status).toBe(200);
    return sse;
  }

  it("fans out `parts` reports, waits for all of them and returns each child's own digest", async () => {
    const { app } = await quickstart();
    const sse = await parseSSEResponse(
      request(app)
        .post("/api/reports/batch")
        .set(alice)
        .set("accept", "text/event-stream")
        .send({ parts: 3, chunks: 2, chunkMs: 0 }),
    );
    expect(sse.violations).toEqual([]);
    expect(sse.frames[0]).toMatchObject({ event: "ready", data: { task: "reports.batch" } });
    const last = sse.frames.at(-1)!;
    expect(last.event).toBe("completed");
    const result = (last.data as { result: BatchResult }).result;
    expect(result.approved).toBeNull();
    expect(result.parts).toHaveLength(3);
    // The bridge events draw the tree: one `queued` and one `completed` per child, nothing else.
    const queued = childFrames(sse.frames, "queued");
    expect(queued.map((c) => c.task)).toEqual(Array(3).fill("reports.generate"));
    expect(childFrames(sse.frames, "completed")).toHaveLength(3);
    expect(new Set(result.parts.map((p) => p.taskId))).toEqual(new Set(queued.map((c) => c.taskId)));
    expect(sse.frames.slice(1).map((f) => Number(f.id))).toEqual(sse.frames.slice(1).map((_, i) => i + 1));

    const parentId = (sse.frames[0]!.data as ChildData).taskId;
    for (const part of result.parts) {
      // Each digest is the child's own result, and the child's own stream (readable by the same owner)
      // proves it: the SHA-256 of the tokens it streamed.
      const snapshot = await request(app).get(`/api/tasks/${part.taskId}`).set(alice);
      expect(snapshot.body).toMatchObject({ task: "reports.generate", status: "completed", parentId });
      expect(snapshot.body.result.digest).toBe(part.digest);
      const child = await parseSSEResponse(request(app).get(`/api/tasks/${part.taskId}/events`).set(alice));
      const tokens = child.frames
        .filter((f) => f.event === "progress")
        .map((f) => (f.data as { token: string }).token);
      expect(tokens).toHaveLength(2);
      expect(digestOf(tokens)).toBe(part.digest);
    }
    // Another user sees none of it.
    const bob = { cookie: "tw_demo_user=bob" };
    expect((await request(app).get(`/api/tasks/${result.parts[0]!.taskId}`).set(bob)).status).toBe(404);
  });

  it.each([true, false])(
    "waits for the approve signal after its children, then completes with approved: %s",
    async (approved) => {
      const { base } = await quickstart();
      const sse = await startBatch(base, { parts: 2, chunks: 2, chunkMs: 0, approval: true });
      const taskId = ((await sse.next()).data as ChildData).taskId;
      const waiting = await sse.waitForFrame((f) => f.event === "awaiting_approval");
      // Every child has settled before the question is asked.
      expect(childFrames(sse.frames, "completed")).toHaveLength(2);
      const asked = (waiting.data as { parts: BatchResult["parts"] }).parts;
      expect(asked).toHaveLength(2);
      const snapshot = await fetch(`${base}/api/tasks/${taskId}`, { headers: alice });
      expect(((await snapshot.json()) as { status: string }).status).toBe("waiting");

      const signal = (body: unknown) =>
        fetch(`${base}/api/tasks/${taskId}/signals/approve`, {
          method: "POST",
          headers: { ...alice, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const invalid = await signal({ approved: "yes" });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("VALIDATION_ERROR");
      expect((await signal({ approved })).status).toBe(202);

      const completed = await sse.waitForFrame((f) => f.event === "completed");
      expect((completed.data as { result: BatchResult }).result).toEqual({ parts: asked, approved });
      await sse.ended; // the server ends the stream after the terminal frame
      // A signal to the finished batch is refused.
      expect((await signal({ approved })).status).toBe(409);
    },
  );

  it("cancels every child when the parent is cancelled", async () => {
    const { base } = await quickstart();
    const sse = await startBatch(base, { parts: 3, chunks: 500, chunkMs: 20 });
    const taskId = ((await sse.next()).data as ChildData).taskId;
    await sse.waitForFrame(() => childFrames(sse.frames, "queued").length === 3);
    const childIds = childFrames(sse.frames, "queued").map((c) => c.taskId);
    // Wait until a child is really running (it streamed progress), so the cancel stops live work.
    const first = await openSSE(`${base}/api/tasks/${childIds[0]}/events`, { headers: alice });
    onTestFinished(() => first.close());
    await first.waitForFrame((f) => f.event === "progress");

    const cancel = await fetch(`${base}/api/tasks/${taskId}/cancel`, { method: "POST", headers: alice });
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { outcome: string }).outcome).toBe("requested");

    await sse.waitForFrame((f) => f.event === "cancelled");
    // The parent settles last: every child's `cancelled` bridge event comes before its own terminal frame.
    const beforeEnd = sse.frames.slice(
      0,
      sse.frames.findIndex((f) => f.event === "cancelled"),
    );
    expect(
      childFrames(beforeEnd, "cancelled")
        .map((c) => c.taskId)
        .sort(),
    ).toEqual([...childIds].sort());
    await first.waitForFrame((f) => f.event === "cancelled");
    for (const id of childIds) {
      const snapshot = await fetch(`${base}/api/tasks/${id}`, { headers: alice });
      const body = (await snapshot.json()) as { status: string; lastSeq: number };
      expect(body.status).toBe("cancelled");
      expect(body.lastSeq).toBeLessThan(501); // stopped long before its 500 chunks
    }
  });

  it("answers invalid batch input with 400 naming the field", async () => {
    const { app } = await quickstart();
    const res = await request(app).post("/api/reports/batch").set(alice).send({ parts: 21 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details.issues[0].path).toBe("parts");
  });
});
