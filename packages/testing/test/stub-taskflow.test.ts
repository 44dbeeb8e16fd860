import { defineTask, NonRetriableError } from "@taskwire/core";
import { createTaskwireApp, Plugin, type TaskwireApp } from "@taskwire/express";
import { createFakeClock, createStubTaskflow, parseSSEResponse, type StubTaskflow } from "@taskwire/testing";
import type { Request, Response, Router } from "express";
import request from "supertest";
import { describe, expect, expectTypeOf, it, onTestFinished, vi } from "vitest";
import { z } from "zod";

/** A task whose real body must never run in these tests (it would need a mail server). */
const sendInvites = defineTask({
  name: "invites.send",
  input: z.object({ emails: z.array(z.string().email()).min(1), note: z.string().default("Join us") }),
  result: z.object({ sent: z.number() }),
  events: { sent: z.object({ email: z.string() }) },
  retry: {
    maxAttempts: 3,
    backoff: "fixed",
    initialDelayMs: 10 * 60_000,
    maxDelayMs: 10 * 60_000,
    jitter: false,
  },
  async run() {
    throw new Error("the real mailer ran");
  },
});

/** A task left unscripted: its own body runs on the stub. */
const echo = defineTask({
  name: "invites.echo",
  input: z.object({ text: z.string() }),
  result: z.object({ text: z.string(), by: z.string() }),
  async run(input, ctx) {
    return { text: input.text, by: ctx.user.userId };
  },
});

/** The plugin under test: its routes start tasks as the caller and stream them. */
class InvitesPlugin extends Plugin {
  readonly name = "invites";
  override setup() {
    this.taskflow.task(sendInvites);
    this.taskflow.task(echo);
  }
  override injectRoutes(router: Router) {
    router.post("/", (req: Request, res: Response) => this.asUser(req).send(res, req.body));
    router.post("/echo", (req: Request, res: Response) => this.asUser(req).echo(res, req.body));
  }
  async send(res: Response, body: unknown) {
    await this.executeTask(res, sendInvites, body, { idempotencyKey: "input" });
  }
  async echo(res: Response, body: unknown) {
    await this.executeTask(res, echo, body);
  }
}

async function mount(taskflow: StubTaskflow): Promise<TaskwireApp> {
  const tw = await createTaskwireApp({ taskflow, plugins: [new InvitesPlugin()] });
  onTestFinished(() => tw.close());
  return tw;
}

const alice = { "x-forwarded-user": "alice", accept: "text/event-stream" };

describe("createStubTaskflow", () => {
  it("streams a scripted run through the plugin's route and records what was started, and as whom", async () => {
    const taskflow = await createStubTaskflow();
    taskflow.respond(sendInvites, {
      events: [
        ["sent", { email: "bob@example.com" }],
        ["sent", { email: "carol@example.com" }],
      ],
      result: { sent: 2 },
    });
    const tw = await mount(taskflow);

    const sse = await parseSSEResponse(
      request(tw.app)
        .post("/api/invites")
        .set(alice)
        .send({ emails: ["bob@example.com", "carol@example.com"] }),
    );
    expect(sse.status).toBe(200);
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => [f.event, f.data])).toEqual([
      ["ready", expect.objectContaining({ task: "invites.send" })],
      ["sent", { email: "bob@example.com" }],
      ["sent", { email: "carol@example.com" }],
      ["completed", { result: { sent: 2 } }],
    ]);
    expect(taskflow.starts).toEqual([
      {
        taskId: expect.any(String),
        task: "invites.send",
        input: { emails: ["bob@example.com", "carol@example.com"], note: "Join us" },
        owner: "alice",
        user: expect.objectContaining({ userId: "alice" }),
        options: { idempotencyKey: "input" },
        created: true,
      },
    ]);
  });

  it("runs a handler with the task's typed input and the caller's identity", async () => {
    const taskflow = await createStubTaskflow();
    const seen: string[] = [];
    taskflow.on(sendInvites, async (input, ctx) => {
      expectTypeOf(input.emails).toEqualTypeOf<string[]>();
      seen.push(`${ctx.user.userId}: ${input.note}`);
      for (const email of input.emails) ctx.emit("sent", { email });
      return { sent: input.emails.length };
    });
    const tw = await mount(taskflow);
    const sse = await parseSSEResponse(
      request(tw.app)
        .post("/api/invites")
        .set(alice)
        .send({ emails: ["d@example.com"], note: "Hi" }),
    );
    expect(sse.frames.at(-1)).toMatchObject({ event: "completed", data: { result: { sent: 1 } } });
    expect(seen).toEqual(["alice: Hi"]);
  });

  it("keeps the task's own validation: bad input is a 400 and starts nothing", async () => {
    const taskflow = await createStubTaskflow();
    taskflow.respond(sendInvites, { result: { sent: 0 } });
    const tw = await mount(taskflow);
    const res = await request(tw.app)
      .post("/api/invites")
      .set(alice)
      .send({ emails: ["not-an-email"] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(taskflow.starts).toEqual([]);
  });

  it("fails the stream with the scripted error, under the task's retry policy", async () => {
    const taskflow = await createStubTaskflow();
    taskflow.respond(sendInvites, { error: new NonRetriableError("The mail server refused.") });
    const tw = await mount(taskflow);
    const sse = await parseSSEResponse(
      request(tw.app)
        .post("/api/invites")
        .set(alice)
        .send({ emails: ["e@example.com"] }),
    );
    expect(sse.frames.at(-1)).toMatchObject({
      event: "failed",
      data: { error: { message: "The mail server refused." } },
    });
  });

  it("runs on a fake clock: a 10-minute retry backoff passes with one advance", async () => {
    const clock = createFakeClock();
    const taskflow = await createStubTaskflow({ clock });
    let attempts = 0;
    taskflow.on(sendInvites, async (input, ctx) => {
      attempts += 1;
      if (ctx.attempt === 1) throw new Error("mail server busy");
      return { sent: input.emails.length };
    });
    const tw = await mount(taskflow);
    const started = Date.now();

    const streamed = parseSSEResponse(
      request(tw.app)
        .post("/api/invites")
        .set(alice)
        .send({ emails: ["f@example.com"] }),
    );
    await vi.waitFor(() => expect(taskflow.starts).toHaveLength(1), { interval: 5 });
    const { taskId } = taskflow.starts[0]!;
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).status).toBe("retrying"), {
      interval: 5,
    });
    await clock.advance(10 * 60_000);

    const sse = await streamed;
    expect(sse.frames.at(-1)).toMatchObject({ event: "completed", data: { result: { sent: 1 } } });
    expect(attempts).toBe(2);
    const snapshot = await taskflow.get(taskId);
    expect(snapshot.createdAt.getTime()).toBe(Date.UTC(2025, 0, 1));
    expect(snapshot.updatedAt.getTime() - snapshot.createdAt.getTime()).toBe(10 * 60_000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("runs a task's own body when it has no script, and registers a scripted definition nobody mounted", async () => {
    const taskflow = await createStubTaskflow();
    const tw = await mount(taskflow);
    const sse = await parseSSEResponse(
      request(tw.app).post("/api/invites/echo").set(alice).send({ text: "hello" }),
    );
    expect(sse.frames.at(-1)).toMatchObject({
      event: "completed",
      data: { result: { text: "hello", by: "alice" } },
    });

    const other = defineTask({
      name: "other.task",
      input: z.object({}),
      result: z.object({ ok: z.boolean() }),
      async run() {
        return { ok: false };
      },
    });
    taskflow.respond(other, { result: { ok: true } });
    const { taskId } = await taskflow.start(other, {});
    await vi.waitFor(async () => expect((await taskflow.get(taskId)).result).toEqual({ ok: true }), {
      interval: 5,
    });
    expect(taskflow.starts.map((s) => [s.task, s.owner])).toEqual([
      ["invites.echo", "alice"],
      ["other.task", "service"],
    ]);
  });
});
