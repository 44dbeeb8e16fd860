import {
  createTaskflow,
  defineTask,
  getCurrentUserContext,
  isInUserContext,
  memoryStore,
} from "@taskwire/core";
import { Plugin, type UserScoped } from "@taskwire/express";
import { parseSSEResponse } from "@taskwire/testing";
import type express from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, expectTypeOf, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { alice, makeHarness } from "./helpers";

const whoami = defineTask({
  name: "plugin.whoami",
  input: z.object({ label: z.string().default("x") }),
  result: z.object({
    user: z.string(),
    isService: z.boolean(),
    token: z.string().nullable(),
    label: z.string(),
  }),
  async run(input, ctx) {
    const token = await ctx.user.token().catch(() => null);
    return { user: ctx.user.userId, isService: ctx.user.isService, token, label: input.label };
  },
});

class ReportsPlugin extends Plugin {
  readonly name = "reports";
  readonly seen: Array<{ method: string; inContext: boolean; userId: string }> = [];
  setupCalls = 0;

  override setup() {
    this.setupCalls += 1;
    this.taskflow.task(whoami);
  }

  override injectRoutes(router: express.Router) {
    router.post("/generate", (req, res) =>
      this.asUser(req).generate(res, req.body, req.get("Idempotency-Key")),
    );
    router.post("/bare", (req, res) => this.generate(res, req.body));
    router.post("/sneaky", (req, res) =>
      this.asUser(req).executeTask(res, whoami, req.body, { userId: "mallory" } as never),
    );
  }

  async generate(res: express.Response, body: unknown, key?: string) {
    await this.executeTask(res, whoami, body, { idempotencyKey: key });
  }

  whoAmI(): string {
    this.seen.push({
      method: "whoAmI",
      inContext: isInUserContext(),
      userId: getCurrentUserContext().userId,
    });
    return getCurrentUserContext().userId;
  }

  override shutdown() {
    this.seen.push({
      method: "shutdown",
      inContext: isInUserContext(),
      userId: getCurrentUserContext().userId,
    });
  }
}

describe("Plugin", () => {
  it("mounts at <basePath>/<name>; executeTask through asUser runs the task as the requester", async () => {
    const plugin = new ReportsPlugin();
    const h = await makeHarness(onTestFinished, { plugins: [plugin] });
    expect(plugin.setupCalls).toBe(1);
    const sse = await parseSSEResponse(
      request(h.tw.app).post("/api/reports/generate").set(alice).send({ label: "q3", userId: "mallory" }),
    );
    expect(sse.violations).toEqual([]);
    expect(sse.frames.map((f) => [f.id, f.event])).toEqual([
      ["0", "ready"],
      ["1", "completed"],
    ]);
    // ctx.user is the requester (the token reached the task through memory), never the body's "userId".
    expect(sse.frames[1]?.data).toEqual({
      result: { user: "alice", isService: false, token: "alice-secret-token", label: "q3" },
    });
    const [task] = await h.store.listTasks();
    expect(task?.owner).toBe("alice");
    expect(task?.identity).not.toContain("alice-secret-token");
  });

  it("answers 401 JSON for a request without identity, and starts nothing (no fall-back to the service)", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new ReportsPlugin()] });
    const res = await request(h.tw.app).post("/api/reports/generate").send({});
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: "UNAUTHENTICATED", message: "Authentication is required." } });
    expect(await h.store.listTasks()).toEqual([]);
  });

  it("runs a bare executeTask as the service principal, ignoring identity headers", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new ReportsPlugin()] });
    const sse = await parseSSEResponse(request(h.tw.app).post("/api/reports/bare").set(alice).send({}));
    expect(sse.frames[1]?.data).toMatchObject({ result: { user: "service", isService: true, token: null } });
  });

  it("refuses identity passed through settings (typed never) before any header", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new ReportsPlugin()], production: true });
    const res = await request(h.tw.app).post("/api/reports/sneaky").set(alice).send({});
    expect(res.status).toBe(500);
    expect(res.body.error.message).toBe("Internal error");
    expect(await h.store.listTasks()).toEqual([]);
  });

  it("answers 400 with the field named for invalid input, before any SSE header", async () => {
    const h = await makeHarness(onTestFinished, { plugins: [new ReportsPlugin()] });
    const res = await request(h.tw.app).post("/api/reports/generate").set(alice).send({ label: 5 });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: "label" })]);
  });
});

describe("asUser", () => {
  function fakeRequest(headers: Record<string, string>) {
    return { headers } as unknown as express.Request;
  }

  it("returns a proxy whose method calls run inside the resolved user's context", async () => {
    const resolveUser = vi.fn(async (req: express.Request) =>
      req.headers["x-user"] ? { userId: String(req.headers["x-user"]) } : undefined,
    );
    const plugin = new ReportsPlugin();
    await makeHarness(onTestFinished, { plugins: [plugin], resolveUser });
    const req = fakeRequest({ "x-user": "carol" });
    const scoped = plugin.asUser(req);
    await expect(scoped.whoAmI()).resolves.toBe("carol");
    await expect(scoped.whoAmI()).resolves.toBe("carol");
    expect(resolveUser).toHaveBeenCalledTimes(1); // resolved once per request
    expect(plugin.whoAmI()).toBe("service");
    expect(plugin.seen.map((s) => s.inContext)).toEqual([true, true, false]);
    await expect(plugin.asUser(fakeRequest({})).whoAmI()).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("does not proxy lifecycle methods or non-function members", async () => {
    const plugin = new ReportsPlugin();
    await makeHarness(onTestFinished, { plugins: [plugin] });
    const scoped = plugin.asUser(fakeRequest(alice));
    expect(scoped.name).toBe("reports");
    expect(scoped.taskflow).toBe(plugin.taskflow);
    const result = scoped.shutdown();
    expect(result).toBeUndefined(); // not wrapped: no promise, no user context
    expect(plugin.seen.at(-1)).toEqual({ method: "shutdown", inContext: false, userId: "service" });
    expect(typeof scoped.asUser(fakeRequest(alice)).whoAmI).toBe("function");
    expect(scoped.setup).not.toBe(plugin.setup); // bound to the plugin, unwrapped
    expect(scoped.setup()).toBeUndefined();
  });

  it("types proxied methods as promise-returning and keeps lifecycle types", () => {
    type Scoped = UserScoped<ReportsPlugin>;
    expectTypeOf<Scoped["whoAmI"]>().toEqualTypeOf<() => Promise<string>>();
    expectTypeOf<Scoped["shutdown"]>().toEqualTypeOf<ReportsPlugin["shutdown"]>();
    expectTypeOf<Scoped["name"]>().toEqualTypeOf<"reports">();
  });

  it("types executeTask input by the task, while accepting unknown request bodies", () => {
    class Typed extends Plugin {
      readonly name = "typed";
      run(res: express.Response, body: unknown) {
        void this.executeTask(res, whoami, body);
        void this.executeTask(res, whoami, { label: "ok" });
        // @ts-expect-error label must be a string
        void this.executeTask(res, whoami, { label: 5 });
        // @ts-expect-error identity is never a setting
        void this.executeTask(res, whoami, {}, { userId: "mallory" });
        // @ts-expect-error the engine owns retries
        void this.executeTask(res, whoami, {}, { retry: { maxAttempts: 9 } });
      }
    }
    expect(Typed).toBeTypeOf("function");
  });
});

describe("plugin lifecycle", () => {
  it("throws a clear error when taskflow is used before mount", () => {
    expect(() => new ReportsPlugin().taskflow).toThrow(/"reports" is not mounted yet/);
    expect(() => new ReportsPlugin().asUser({} as express.Request)).toThrow(/not mounted/);
  });

  it("rejects invalid, reserved and duplicate plugin names", async () => {
    const taskflow = await createTaskflow({
      store: memoryStore(),
      logger: pino({ level: "silent" }),
      worker: false,
    });
    onTestFinished(() => taskflow.shutdown());
    const named = (name: string) =>
      new (class extends Plugin {
        readonly name = name;
      })();
    const { createTaskwireApp } = await import("@taskwire/express");
    for (const plugins of [[named("tasks")], [named("has space")], [named("a/b")], [named("x"), named("x")]])
      await expect(createTaskwireApp({ taskflow, plugins })).rejects.toThrow(TypeError);
  });

  it("calls shutdown() on close, outside any user context", async () => {
    const plugin = new ReportsPlugin();
    const h = await makeHarness(onTestFinished, { plugins: [plugin] });
    await h.tw.close();
    expect(plugin.seen).toEqual([{ method: "shutdown", inContext: false, userId: "service" }]);
  });
});
