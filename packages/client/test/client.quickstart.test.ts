import { createHash } from "node:crypto";
import {
  createTaskClient,
  isTaskwireClientError,
  TaskCancelledError,
  type TaskEventOf,
  TaskFailedError,
  TaskwireClientError,
} from "@taskwire/client";
import { describe, expect, it, onTestFinished } from "vitest";
import type { generateReport } from "../../../examples/quickstart/src/report-task";
import { alice, bob, quickstartServer, recordingFetch } from "./helpers";

type Report = typeof generateReport;

async function setup() {
  const server = await quickstartServer(onTestFinished);
  const client = createTaskClient({ baseUrl: `${server.base}/api`, headers: alice });
  return { server, client };
}

describe("client against the quickstart", () => {
  it("starts a report and streams typed progress through completion; the result matches the tokens", async () => {
    const { client } = await setup();
    const started = await client.start<Report>("reports.generate", { chunks: 4, chunkMs: 0 });
    expect(started).toEqual({
      taskId: expect.any(String),
      created: true,
      eventsUrl: `/api/tasks/${started.taskId}/events`,
    });
    const ready: unknown[] = [];
    const seen: number[] = [];
    const sub = client.subscribe(started.taskId, {
      onReady: (r) => ready.push(r),
      onEvent: (e) => seen.push(e.seq),
    });
    const events: TaskEventOf<Report>[] = [];
    for await (const event of sub) events.push(event);

    expect(events.map((e) => [e.seq, e.name])).toEqual([
      [1, "progress"],
      [2, "progress"],
      [3, "progress"],
      [4, "progress"],
      [5, "completed"],
    ]);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(ready).toEqual([
      { taskId: started.taskId, task: "reports.generate", status: expect.any(String), seq: 0 },
    ]);
    const tokens = events.flatMap((e) => (e.name === "progress" ? [e.data.token] : []));
    const result = await sub.result;
    expect(result).toEqual({
      chunks: 4,
      digest: createHash("sha256").update(tokens.join("\n")).digest("hex"),
    });
    expect(sub.lastSeq).toBe(5);

    const snapshot = await client.get(started.taskId);
    expect(snapshot).toMatchObject({ taskId: started.taskId, status: "completed", lastSeq: 5, result });
    expect(typeof snapshot.createdAt).toBe("string");
  });

  it("run() starts, streams to onEvent and resolves with the result; a headers function is called per request", async () => {
    const { server } = await setup();
    let calls = 0;
    const client = createTaskClient({
      baseUrl: `${server.base}/api`,
      // The quickstart's demo sign-in cookie works as well as the trusted-proxy header.
      headers: () => {
        calls++;
        return { cookie: "tw_demo_user=alice" };
      },
    });
    const progress: number[] = [];
    let taskId = "";
    const result = await client.run<Report>(
      "reports.generate",
      { chunks: 3, chunkMs: 0 },
      {
        onStart: (s) => {
          taskId = s.taskId;
        },
        onEvent: (e) => {
          if (e.name === "progress") progress.push(e.data.done);
        },
      },
    );
    expect(progress).toEqual([1, 2, 3]);
    expect(result.chunks).toBe(3);
    expect(calls).toBe(2); // the start and the stream
    expect((await client.get<Report>(taskId)).status).toBe("completed");
  });

  it("resolves a subscription resumed at or past the terminal event (204) from the snapshot", async () => {
    const { server, client } = await setup();
    const { taskId } = await client.start<Report>("reports.generate", { chunks: 2, chunkMs: 0 });
    const result = await client.subscribe(taskId).result;
    const { lastSeq } = await client.get(taskId);
    expect(lastSeq).toBe(3);

    const recorder = recordingFetch();
    const late = createTaskClient({ baseUrl: `${server.base}/api`, headers: alice, fetch: recorder.fetch });
    const sub = late.subscribe<Report>(taskId, { afterSeq: lastSeq });
    const events: unknown[] = [];
    for await (const event of sub) events.push(event);
    expect(events).toEqual([]); // the terminal event was before the cursor: nothing is yielded twice
    await expect(sub.result).resolves.toEqual(result);
    expect(recorder.statuses).toEqual([204, 200]); // the stream, then the snapshot
    expect(recorder.requests[0]).toMatchObject({ url: expect.stringMatching(/\/events$/), lastEventId: "3" });

    const failed = await client.start<Report>("reports.generate", { chunks: 2, chunkMs: 0, failAt: 1 });
    await client.subscribe(failed.taskId).result.catch(() => undefined);
    const past = late.subscribe<Report>(failed.taskId, { afterSeq: 99 });
    await expect(past.result).rejects.toBeInstanceOf(TaskFailedError);
    await expect(past.result).rejects.toMatchObject({ message: expect.stringContaining("Chunk 1 failed") });
  });
});

describe("client errors", () => {
  it("turns invalid input into a TaskwireClientError with code, status and the zod issue's path", async () => {
    const { client } = await setup();
    // @ts-expect-error chunks must be a number
    const error = await client.start<Report>("reports.generate", { chunks: "many" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskwireClientError);
    expect(isTaskwireClientError(error, "VALIDATION_ERROR")).toBe(true);
    const e = error as TaskwireClientError;
    expect(e.status).toBe(400);
    expect(e.details).toMatchObject({ issues: [expect.objectContaining({ path: "chunks" })] });

    const tooMany = await client.start<Report>("reports.generate", { chunks: 501 }).catch((x: unknown) => x);
    expect(tooMany).toMatchObject({ code: "VALIDATION_ERROR", status: 400 });
  });

  it("answers 404 TASK_NOT_FOUND for another user's task on get, subscribe and cancel, and stops for good", async () => {
    const { server, client } = await setup();
    const { taskId } = await client.start<Report>("reports.generate", { chunks: 50, chunkMs: 50 });
    const recorder = recordingFetch();
    const asBob = createTaskClient({ baseUrl: `${server.base}/api`, headers: bob, fetch: recorder.fetch });
    await expect(asBob.get(taskId)).rejects.toMatchObject({ code: "TASK_NOT_FOUND", status: 404 });
    const sub = asBob.subscribe(taskId, { reconnect: { initialDelayMs: 1 } });
    await expect(sub.result).rejects.toMatchObject({ code: "TASK_NOT_FOUND", status: 404 });
    await expect(async () => {
      for await (const _ of sub) expect.unreachable();
    }).rejects.toMatchObject({ code: "TASK_NOT_FOUND" });
    await expect(asBob.cancel(taskId)).rejects.toMatchObject({ code: "TASK_NOT_FOUND", status: 404 });
    // One request per call: a 4xx is never retried.
    expect(recorder.requests.map((r) => r.method)).toEqual(["GET", "GET", "POST"]);
    await client.cancel(taskId);
  });

  it("answers 401 without an identity and 404 UNKNOWN_TASK for a task name the server does not know", async () => {
    const { server, client } = await setup();
    const anonymous = createTaskClient({ baseUrl: `${server.base}/api` });
    await expect(anonymous.start<Report>("reports.generate", {})).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      status: 401,
    });
    await expect(client.start("reports.nope", {})).rejects.toMatchObject({ status: 404 });
  });

  it("cancel() stops a running task: the stream ends with `cancelled` and result rejects TaskCancelledError", async () => {
    const { client } = await setup();
    const { taskId } = await client.start<Report>("reports.generate", { chunks: 200, chunkMs: 20 });
    const sub = client.subscribe(taskId);
    const names: string[] = [];
    for await (const event of sub) {
      names.push(event.name);
      if (event.seq === 1)
        expect(await client.cancel(taskId)).toMatchObject({ taskId, outcome: "requested" });
    }
    expect(names.at(-1)).toBe("cancelled");
    const error = await sub.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect(error).toMatchObject({ code: "CANCELLED", taskId });
    expect(await client.cancel(taskId)).toMatchObject({ status: "cancelled", outcome: "already_finished" });
  });

  it("a failed task ends the stream with `failed`; result rejects TaskFailedError with the task's code", async () => {
    const { client } = await setup();
    const sub = client.subscribe(
      (await client.start<Report>("reports.generate", { chunks: 3, chunkMs: 0, failAt: 2 })).taskId,
    );
    const events: TaskEventOf<Report>[] = [];
    for await (const event of sub) events.push(event);
    const last = events.at(-1);
    expect(last?.name).toBe("failed");
    if (last?.name === "failed") expect(last.data.error.message).toContain("Chunk 2 failed");
    const error = await sub.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).message).toContain("Chunk 2 failed");
    if (last?.name === "failed") expect((error as TaskFailedError).code).toBe(last.data.error.code);
  });
});
