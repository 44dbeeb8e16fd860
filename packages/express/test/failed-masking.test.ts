import { defineTask, NonRetriableError } from "@taskwire/core";
import { parseSSEResponse } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { alice, makeHarness } from "./helpers";

const leaky = defineTask({
  name: "mask.leaky",
  input: z.object({ typed: z.boolean(), systemCode: z.boolean().default(false) }),
  result: z.object({}),
  retry: { maxAttempts: 1 },
  async run(input) {
    if (input.typed) throw new NonRetriableError("Your quota is used up.", { code: "QUOTA_EXCEEDED" });
    const error = new Error("connect ECONNREFUSED 10.0.0.7:5432 user=report_writer");
    // Node's own errors carry a code that looks typed; their messages are internal all the same.
    throw input.systemCode ? Object.assign(error, { code: "ECONNREFUSED" }) : error;
  },
});

async function failedTask(production: boolean, typed: boolean, systemCode = false) {
  const h = await makeHarness(onTestFinished, { production });
  h.taskflow.task(leaky);
  const sse = await parseSSEResponse(
    request(h.tw.app)
      .post("/api/tasks/mask.leaky")
      .set(alice)
      .set("accept", "text/event-stream")
      .send({ typed, systemCode }),
  );
  const failed = sse.frames.at(-1);
  expect(failed?.event).toBe("failed");
  const taskId = (sse.frames[0]!.data as { taskId: string }).taskId;
  const snapshot = await request(h.tw.app).get(`/api/tasks/${taskId}`).set(alice);
  const stored = await h.taskflow.store.getTask(taskId);
  return {
    frame: (failed!.data as { error: { code: string; message: string } }).error,
    snapshot: snapshot.body.error,
    stored: stored?.error,
  };
}

describe("failed tasks over HTTP", () => {
  it("masks the message of an untyped error in production, on the stream and in the snapshot, but keeps it in the WAL", async () => {
    const { frame, snapshot, stored } = await failedTask(true, false);
    expect(frame).toEqual({ code: "HANDLER_ERROR", message: "Internal error" });
    expect(snapshot).toEqual({ code: "HANDLER_ERROR", message: "Internal error" });
    expect(stored?.message).toContain("ECONNREFUSED"); // operators still see it
  });

  it("masks a Node system error's message in production even though it carries its own code", async () => {
    const { frame, snapshot, stored } = await failedTask(true, false, true);
    expect(frame).toEqual({ code: "ECONNREFUSED", message: "Internal error" });
    expect(snapshot).toEqual({ code: "ECONNREFUSED", message: "Internal error" });
    expect(stored).toMatchObject({ code: "ECONNREFUSED", internal: true });
    expect(stored?.message).toContain("10.0.0.7");
  });

  it("keeps typed error messages in production (they are written for users)", async () => {
    const { frame, snapshot } = await failedTask(true, true);
    expect(frame).toEqual({ code: "QUOTA_EXCEEDED", message: "Your quota is used up." });
    expect(snapshot).toEqual(frame);
  });

  it("shows the untyped message outside production", async () => {
    const { frame } = await failedTask(false, false);
    expect(frame.message).toContain("ECONNREFUSED");
  });
});

/** Spawns one `mask.leaky` child (untyped failure) and waits for it: fails with CHILD_FAILED. */
const leakyParent = defineTask({
  name: "mask.leaky-parent",
  input: z.object({}),
  result: z.object({}),
  retry: { maxAttempts: 1 },
  async run(_input, ctx) {
    const child = await ctx.spawn(leaky, { typed: false });
    await child.result();
    return {};
  },
});

/** Waits 30 ms for a signal that never comes: fails with SIGNAL_TIMEOUT. */
const impatient = defineTask({
  name: "mask.impatient",
  input: z.object({}),
  result: z.object({}),
  signals: { go: z.object({}) },
  retry: { maxAttempts: 1 },
  async run(_input, ctx) {
    await ctx.waitForSignal("go", { timeoutMs: 30 });
    return {};
  },
});

describe("flow failures over HTTP", () => {
  async function streamed(production: boolean, task: string) {
    const h = await makeHarness(onTestFinished, { production });
    h.taskflow.task(leaky);
    h.taskflow.task(leakyParent);
    h.taskflow.task(impatient);
    const sse = await parseSSEResponse(
      request(h.tw.app).post(`/api/tasks/${task}`).set(alice).set("accept", "text/event-stream").send({}),
    );
    expect(sse.violations).toEqual([]);
    const failed = sse.frames.at(-1);
    expect(failed?.event).toBe("failed");
    return { sse, error: (failed!.data as { error: { code: string; message: string } }).error };
  }

  it("ends a parent whose child failed with CHILD_FAILED, after the child frames", async () => {
    const { sse, error } = await streamed(false, "mask.leaky-parent");
    expect(sse.frames.map((f) => f.event)).toEqual(["ready", "child", "child", "failed"]);
    expect(sse.frames.map((f) => (f.data as { status?: string }).status)).toEqual([
      "running",
      "queued",
      "failed",
      undefined,
    ]);
    expect(error.code).toBe("CHILD_FAILED");
  });

  it("ends a task whose signal wait timed out with SIGNAL_TIMEOUT", async () => {
    const { error } = await streamed(true, "mask.impatient");
    expect(error.code).toBe("SIGNAL_TIMEOUT");
  });
});
