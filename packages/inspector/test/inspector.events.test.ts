import { openSSE } from "@taskwire/testing";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  action,
  alice,
  approvalTask,
  blockingTask,
  bob,
  fix,
  flakyTask,
  makeHarness,
  operator,
  release,
} from "./helpers";

describe("inspector events (the app's own SSE stream, under the grant)", () => {
  it("replays then streams live until the terminal frame, and a resume at the end is a 204", async () => {
    const h = await makeHarness(onTestFinished);
    await h.listen();
    const id = await h.startAs("alice", blockingTask, { key: "events-1" });
    const sse = await openSSE(`${h.base}/inspector/api/tasks/${id}/events`, { headers: alice });
    onTestFinished(() => sse.close());
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const ready = await sse.next();
    expect(ready).toMatchObject({ event: "ready", id: "0", data: { taskId: id, task: "test.blocking" } });
    expect(await sse.next()).toMatchObject({ event: "tick", id: "1", data: { i: 1 } });
    release("events-1");
    expect(await sse.next()).toMatchObject({ event: "completed", id: "2", data: { result: { ok: true } } });
    await sse.ended;
    expect(sse.violations).toEqual([]);

    const resumed = await openSSE(`${h.base}/inspector/api/tasks/${id}/events`, {
      headers: { ...alice, "Last-Event-ID": "2" },
    });
    expect(resumed.status).toBe(204);
    const byQuery = await openSSE(`${h.base}/inspector/api/tasks/${id}/events?lastEventId=1`, {
      headers: alice,
    });
    expect(await byQuery.next()).toMatchObject({ event: "ready", id: "1" });
    expect(await byQuery.next()).toMatchObject({ event: "completed", id: "2" });
    await byQuery.ended;
  });

  it("another owner's stream is a JSON 404 before any frame; the operator may watch it", async () => {
    const h = await makeHarness(onTestFinished);
    await h.listen();
    const id = await h.startAs("alice", approvalTask, {});
    await h.waitForStatus(id, "waiting");
    const denied = await openSSE(`${h.base}/inspector/api/tasks/${id}/events`, { headers: bob });
    await denied.ended;
    expect(denied.status).toBe(404);
    expect(denied.headers.get("content-type")).toContain("application/json");
    expect(denied.frames).toEqual([]);

    const watched = await openSSE(`${h.base}/inspector/api/tasks/${id}/events`, { headers: operator });
    onTestFinished(() => watched.close());
    expect(await watched.next()).toMatchObject({ event: "ready", data: { status: "waiting" } });
    expect(await watched.next()).toMatchObject({ event: "awaiting", id: "1" });
    // Signalled through the inspector as alice: the operator's open stream sees the task finish live.
    const res = await fetch(`${h.base}/inspector/api/tasks/${id}/signals/approve`, {
      method: "POST",
      headers: { ...alice, ...action, "Content-Type": "application/json" },
      body: JSON.stringify({ approved: false }),
    });
    expect(res.status).toBe(202);
    expect(await watched.next()).toMatchObject({
      event: "completed",
      id: "2",
      data: { result: { approved: false } },
    });
  });

  it("a retried task streams on after its failed frame: the new attempt's events follow without a gap", async () => {
    const h = await makeHarness(onTestFinished);
    await h.listen();
    const id = await h.startAs("alice", flakyTask, { key: "events-retry" });
    await h.waitForStatus(id, "failed");
    const first = await openSSE(`${h.base}/inspector/api/tasks/${id}/events`, { headers: alice });
    await first.ended;
    expect(first.frames.map((f) => [f.id, f.event])).toEqual([
      ["0", "ready"],
      ["1", "tick"],
      ["2", "failed"],
    ]);
    fix("events-retry");
    const retry = await fetch(`${h.base}/inspector/api/tasks/${id}/retry`, {
      method: "POST",
      headers: { ...alice, ...action },
    });
    expect(retry.status).toBe(202);
    // What the page does after a retry: reopen after the last seq it showed.
    const again = await openSSE(`${h.base}/inspector/api/tasks/${id}/events?lastEventId=2`, {
      headers: alice,
    });
    expect(await again.next()).toMatchObject({ event: "ready", id: "2" });
    expect(await again.next()).toMatchObject({
      event: "completed",
      id: "3",
      data: { result: { attempt: 2 } },
    });
    await again.ended;
  });
});
