import { createTaskClient, isTaskwireClientError, type TaskEventOf, TaskFailedError } from "@taskwire/client";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, bob, fix, type flakyTask, newKey, pacedServer, type parentTask, type tasks } from "./helpers";

/** A client typed by the app's task map, against a real server. */
async function setup(fetchFn?: typeof fetch) {
  const server = await pacedServer(onTestFinished);
  const client = createTaskClient<typeof tasks>({
    baseUrl: `${server.http.base}/api`,
    headers: alice,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
  return { ...server, client };
}

describe("client.signal", () => {
  it("delivers typed signals in order; the task consumes them and completes", async () => {
    const { client } = await setup();
    const { taskId } = await client.start("client.approval", { comments: 1 });
    const sub = client.subscribe(taskId);
    const names: string[] = [];
    for await (const event of sub) {
      names.push(event.name);
      if (event.name === "awaiting") {
        const at = new Date(0).toISOString();
        expect(await client.signal(taskId, "comment", { text: "nice", at })).toEqual({
          taskId,
          name: "comment",
          index: 0,
          duplicate: false,
        });
        const first = await client.signal(taskId, "approve", { approved: true }, { idempotencyKey: "k1" });
        const again = await client.signal(taskId, "approve", { approved: false }, { idempotencyKey: "k1" });
        expect([first.duplicate, again.duplicate, again.index]).toEqual([false, true, 0]);
      }
    }
    expect(names).toEqual(["awaiting", "completed"]);
    expect(await sub.result).toEqual({ approved: true, comments: ["nice"] });
  });

  it("rejects with the server's error: 400 for an undeclared name or bad payload, 404 for another owner, 409 when finished", async () => {
    const { client, http } = await setup();
    const { taskId } = await client.start("client.approval", {});
    const asAny = client.signal as (id: string, name: string, payload: unknown) => Promise<unknown>;
    const undeclared = await asAny(taskId, "reject", {}).catch((e: unknown) => e);
    expect(isTaskwireClientError(undeclared, "VALIDATION_ERROR")).toBe(true);
    expect(undeclared).toMatchObject({ status: 400 });
    const invalid = await asAny(taskId, "approve", { approved: "yes" }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: "VALIDATION_ERROR", status: 400 });

    const asBob = createTaskClient<typeof tasks>({ baseUrl: `${http.base}/api`, headers: bob });
    const foreign = await asBob.signal(taskId, "approve", { approved: true }).catch((e: unknown) => e);
    expect(foreign).toMatchObject({ code: "TASK_NOT_FOUND", status: 404 });

    await client.signal(taskId, "approve", { approved: false });
    await client.subscribe(taskId).result;
    const finished = await client.signal(taskId, "approve", { approved: true }).catch((e: unknown) => e);
    expect(finished).toMatchObject({
      code: "TASK_FINISHED",
      status: 409,
      details: { taskId, status: "completed" },
    });
  });
});

describe("client.retry and subscriptions of retried tasks", () => {
  it("retries a failed task; a subscription from 0 goes past the old failed event to the new result", async () => {
    const { client } = await setup();
    const key = newKey();
    const failedRun = await client.start("client.flaky", { key });
    // A live subscription ends at the failed event while it is the task's last one.
    await expect(client.subscribe(failedRun.taskId).result).rejects.toBeInstanceOf(TaskFailedError);
    fix(key);
    const snapshot = await client.retry(failedRun.taskId);
    expect(snapshot).toMatchObject({ taskId: failedRun.taskId, status: "queued", lastSeq: 2 });

    const events: Array<TaskEventOf<typeof flakyTask>> = [];
    const sub = client.subscribe(failedRun.taskId, { onEvent: (e) => events.push(e) });
    expect(await sub.result).toEqual({ attempt: 2 });
    expect(events.map((e) => [e.seq, e.name])).toEqual([
      [1, "tick"],
      [2, "failed"],
      [3, "tick"],
      [4, "completed"],
    ]);
    expect(events[1]?.data).toEqual({
      error: { code: "HANDLER_ERROR", message: `flaky ${key} is broken` },
    });
    // Resuming right after the old failed event streams the new run as well.
    const resumed = client.subscribe(failedRun.taskId, { afterSeq: 2 });
    const names: string[] = [];
    for await (const event of resumed) names.push(event.name);
    expect(names).toEqual(["tick", "completed"]);
    expect(await resumed.result).toEqual({ attempt: 2 });
  });

  it("rejects a retry of a task that is not failed with 409 NOT_RESUMABLE and its status", async () => {
    const { client } = await setup();
    const { taskId } = await client.start("client.approval", {});
    const error = await client.retry(taskId).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "NOT_RESUMABLE", status: 409, details: { taskId } });
    expect((error as { details: { status: string } }).details.status).toMatch(/^(queued|running|waiting)$/);
  });

  it("reconnects instead of failing when a 204 meets a task retried before its snapshot was read", async () => {
    const taskId = "t-retried";
    const sse = [
      "retry: 10\nid: 2\nevent: ready\ndata: {}\n\n",
      'id: 3\nevent: tick\ndata: {"i":2}\n\n',
      'id: 4\nevent: completed\ndata: {"result":{"attempt":2}}\n\n',
    ].join("");
    const answers = [
      () => new Response(null, { status: 204 }),
      () => Response.json({ taskId, task: "client.flaky", status: "queued", lastSeq: 2 }),
      () => new Response(sse, { headers: { "Content-Type": "text/event-stream" } }),
    ];
    const requests: Array<[string, string | null]> = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      requests.push([String(input), new Headers(init?.headers).get("Last-Event-ID")]);
      const answer = answers.shift();
      if (!answer) throw new Error("no more answers");
      return answer();
    };
    const client = createTaskClient<typeof tasks>({ baseUrl: "http://fake/api", fetch: fakeFetch });
    const sub = client.subscribe<typeof flakyTask>(taskId, { afterSeq: 2, reconnect: { initialDelayMs: 1 } });
    expect(await sub.result).toEqual({ attempt: 2 });
    expect(requests).toEqual([
      [`http://fake/api/tasks/${taskId}/events`, "2"],
      [`http://fake/api/tasks/${taskId}`, null],
      [`http://fake/api/tasks/${taskId}/events`, "2"],
    ]);
  });
});

describe("the end of a subscription", () => {
  it("settles on a terminal frame only when the response ends after it; a drop right after it resumes", async () => {
    const taskId = "t-dropped";
    const encoder = new TextEncoder();
    const chunks = [
      "retry: 10\nid: 0\nevent: ready\ndata: {}\n\n",
      'id: 1\nevent: failed\ndata: {"error":{"code":"X","message":"old"}}\n\n',
    ];
    const dropping = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift();
        // No clean end after the failed frame: it may be an old one, so the client must ask again.
        if (chunk === undefined) controller.error(new Error("connection reset"));
        else controller.enqueue(encoder.encode(chunk));
      },
    });
    const answers = [
      () => new Response(dropping, { headers: { "Content-Type": "text/event-stream" } }),
      () => new Response(null, { status: 204 }),
      () =>
        Response.json({
          taskId,
          task: "client.flaky",
          status: "failed",
          lastSeq: 1,
          error: { code: "X", message: "old" },
        }),
    ];
    const requests: Array<[string, string | null]> = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      requests.push([String(input), new Headers(init?.headers).get("Last-Event-ID")]);
      const answer = answers.shift();
      if (!answer) throw new Error("no more answers");
      return answer();
    };
    const client = createTaskClient({ baseUrl: "http://fake/api", fetch: fakeFetch });
    const sub = client.subscribe(taskId, { reconnect: { initialDelayMs: 1 } });
    const error = await sub.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: "X", message: "old" });
    expect(requests).toEqual([
      [`http://fake/api/tasks/${taskId}/events`, "0"],
      [`http://fake/api/tasks/${taskId}/events`, "1"],
      [`http://fake/api/tasks/${taskId}`, null],
    ]);
  });
});

describe("child events", () => {
  it("yields a parent's child events with their taskId, task and status", async () => {
    const { client } = await setup();
    const events: Array<TaskEventOf<typeof parentTask>> = [];
    const result = await client.run("client.parent", { ns: [1, 2, 3] }, { onEvent: (e) => events.push(e) });
    expect(result).toEqual({ sum: 12 });
    const children = events.filter((e) => e.name === "child");
    expect(children).toHaveLength(6);
    for (const child of children) {
      if (child.name !== "child") continue;
      expect(child.data.task).toBe("client.double");
      expect(["queued", "completed"]).toContain(child.data.status);
      const snapshot = await client.get(child.data.taskId);
      expect(snapshot).toMatchObject({ status: "completed", parentId: expect.any(String) });
    }
    expect(events.at(-1)?.name).toBe("completed");
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("shows a task waiting for a signal as waiting", async () => {
    const { client } = await setup();
    const { taskId } = await client.start("client.approval", {});
    for await (const event of client.subscribe(taskId)) if (event.name === "awaiting") break;
    await vi.waitFor(async () => expect((await client.get(taskId)).status).toBe("waiting"));
    await client.signal(taskId, "approve", { approved: true });
    expect(await client.subscribe(taskId).result).toEqual({ approved: true, comments: [] });
  });
});
