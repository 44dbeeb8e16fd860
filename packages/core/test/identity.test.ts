import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { parseIdentitySidecar } from "../src/identity/task-user";
import {
  defineTask,
  getCurrentUserContext,
  isInUserContext,
  isTaskwireError,
  memoryStore,
  runInUserContext,
  SERVICE_PRINCIPAL,
  step,
  type TaskStore,
} from "../src/index";
import { collect, crashableStore, deferred, makeTaskflow } from "./helpers";

const seen: Array<{ where: string; userId: string; inContext: boolean }> = [];
const whoAmI = step("whoAmI", async () => {
  seen.push({ where: "step", userId: getCurrentUserContext().userId, inContext: isInUserContext() });
  return getCurrentUserContext().userId;
});

const def = defineTask({
  name: "identity.task",
  input: z.object({ block: z.boolean().default(false) }),
  result: z.object({ stepUser: z.string(), ctxUser: z.string(), token: z.string() }),
  async run(input, ctx) {
    const stepUser = await whoAmI();
    if (input.block) await gate.promise;
    const token = await ctx.user.token().then(
      (t) => (t === "secret-token" || t === "bob-token" ? "present" : "wrong"),
      (e: unknown) => (isTaskwireError(e, "REAUTH_REQUIRED") ? "reauth" : "other"),
    );
    return { stepUser, ctxUser: ctx.user.userId, token };
  },
});
let gate = deferred();

describe("identity", () => {
  it("runs as the service principal outside any user context", () => {
    expect(isInUserContext()).toBe(false);
    expect(getCurrentUserContext()).toEqual(SERVICE_PRINCIPAL);
    expect(runInUserContext({ userId: "u1" }, () => getCurrentUserContext().userId)).toBe("u1");
  });

  it("records the owner, re-enters the user inside every step, and keeps the token in memory only", async () => {
    seen.length = 0;
    const store = memoryStore();
    const taskflow = await makeTaskflow(onTestFinished, { store });
    const ref = taskflow.task(def);
    const { taskId } = await runInUserContext(
      { userId: "alice", accessToken: "secret-token", claims: { role: "admin" } },
      () => taskflow.start(ref, {}),
    );
    const events = await runInUserContext({ userId: "alice" }, () => collect(taskflow, taskId));
    expect(events.at(-1)?.data).toEqual({
      result: { stepUser: "alice", ctxUser: "alice", token: "present" },
    });
    expect(seen).toEqual([{ where: "step", userId: "alice", inContext: true }]);
    const record = await store.getTask(taskId);
    expect(record?.owner).toBe("alice");
    expect(JSON.stringify(record)).not.toContain("secret-token");
    expect(JSON.parse(record?.identity ?? "{}")).toEqual({ userId: "alice", claims: { role: "admin" } });
  });

  it("after a resume in another process ctx.user is still the owner and token() asks to re-authenticate", async () => {
    gate = deferred();
    const shared = memoryStore();
    const doomed = crashableStore(shared);
    const first = await makeTaskflow(onTestFinished, { store: doomed.store, leaseMs: 150 });
    const { taskId } = await runInUserContext({ userId: "bob", accessToken: "bob-token" }, () =>
      first.start(first.task(def), { block: true }),
    );
    await vi.waitFor(
      async () => expect((await shared.loadHistory(taskId)).steps, "the first checkpoint").toHaveLength(1),
      { timeout: 5_000, interval: 5 },
    );
    doomed.crash();
    gate.resolve();
    const second = await makeTaskflow(onTestFinished, { store: shared, leaseMs: 150 });
    second.task(def);
    const events = await collect(second, taskId);
    expect(events.at(-1)?.data).toEqual({ result: { stepUser: "bob", ctxUser: "bob", token: "reauth" } });
  });

  it("hides another user's task as not found on get, subscribe, cancel and list", async () => {
    const taskflow = await makeTaskflow(onTestFinished, { worker: false });
    const ref = taskflow.task(def);
    const { taskId } = await runInUserContext({ userId: "alice" }, () => taskflow.start(ref, {}));
    await runInUserContext({ userId: "mallory" }, async () => {
      for (const attempt of [
        () => taskflow.get(taskId),
        () => taskflow.cancel(taskId),
        () => collect(taskflow, taskId),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(isTaskwireError(error, "TASK_NOT_FOUND")).toBe(true);
      }
      expect(await taskflow.list()).toEqual([]);
    });
    expect((await runInUserContext({ userId: "alice" }, () => taskflow.list())).map((t) => t.taskId)).toEqual(
      [taskId],
    );
  });

  it("never rings an event watcher in the writer's async context", async () => {
    const als = new AsyncLocalStorage<string>();
    const taskflow = await makeTaskflow(onTestFinished);
    const go = deferred();
    const quick = defineTask({
      name: "identity.quick",
      input: z.object({}),
      result: z.object({}),
      async run() {
        await go.promise;
        return {};
      },
    });
    const ref = taskflow.task(quick);
    const observed: Array<string | undefined> = [];
    // Started inside "writer": the run (claimed at start) inherits that context and writes the terminal event.
    const { taskId } = await als.run("writer", () => taskflow.start(ref, {}));
    const unwatch = als.run("watcher", () =>
      taskflow.store.watchEvents(taskId, () => observed.push(als.getStore())),
    );
    onTestFinished(unwatch);
    go.resolve();
    await collect(taskflow, taskId);
    await vi.waitFor(() => expect(observed.length, "the watcher rung").toBeGreaterThan(0), {
      timeout: 5_000,
      interval: 5,
    });
    expect(new Set(observed)).toEqual(new Set(["watcher"]));
  });

  describe("stored identity sidecar", () => {
    const invalid = (json: string | null, owner: string) => {
      try {
        parseIdentitySidecar(json, owner);
      } catch (error) {
        return error;
      }
      throw new Error(`accepted ${json}`);
    };

    it("accepts the owner's sidecar and treats a missing one as the bare owner", () => {
      const stored = JSON.stringify({ userId: "alice", displayName: "Alice", claims: { role: "admin" } });
      expect(parseIdentitySidecar(stored, "alice")).toEqual({
        userId: "alice",
        displayName: "Alice",
        claims: { role: "admin" },
      });
      expect(parseIdentitySidecar(JSON.stringify({ userId: "alice", secret: "x" }), "alice")).toEqual({
        userId: "alice",
      });
      expect(parseIdentitySidecar(null, "alice")).toEqual({ userId: "alice" });
    });

    it.each([
      ["another user", JSON.stringify({ userId: "mallory" })],
      ["the service", JSON.stringify({ userId: SERVICE_PRINCIPAL.userId })],
      ["not JSON", "{userId: alice"],
      ["a JSON string", JSON.stringify("alice")],
      ["an array", JSON.stringify([{ userId: "alice" }])],
      ["no userId", JSON.stringify({ displayName: "Alice" })],
      ["a numeric userId", JSON.stringify({ userId: 7 })],
      ["a numeric displayName", JSON.stringify({ userId: "alice", displayName: 7 })],
      ["claims as an array", JSON.stringify({ userId: "alice", claims: ["admin"] })],
      ["claims as a string", JSON.stringify({ userId: "alice", claims: "admin" })],
    ])("rejects %s as a non-retriable INVALID_IDENTITY", (_what, json) => {
      const error = invalid(json, "alice");
      expect(isTaskwireError(error, "INVALID_IDENTITY")).toBe(true);
      expect((error as { retriable: boolean }).retriable).toBe(false);
      expect((error as Error).message).not.toContain("mallory");
    });

    it("fails a task whose stored identity names someone else, without running it or retrying", async () => {
      let runs = 0;
      const tampered = defineTask({
        name: "identity.tampered",
        input: z.object({}),
        result: z.object({ user: z.string() }),
        retry: { maxAttempts: 3, initialDelayMs: 1 },
        async run(_input, ctx) {
          runs += 1;
          return { user: ctx.user.userId };
        },
      });
      // A store that persists a forged sidecar, as a tampered row would read back.
      const store = rewritingIdentity(memoryStore(), JSON.stringify({ userId: "mallory", claims: {} }));
      const taskflow = await makeTaskflow(onTestFinished, { store });
      const { taskId } = await runInUserContext({ userId: "alice" }, () =>
        taskflow.start(taskflow.task(tampered), {}),
      );
      const events = await runInUserContext({ userId: "alice" }, () => collect(taskflow, taskId));
      expect(events.at(-1)).toMatchObject({ name: "failed", data: { error: { code: "INVALID_IDENTITY" } } });
      expect(runs).toBe(0);
      expect((await store.getTask(taskId))?.attempt).toBe(1);
    });
  });
});

function rewritingIdentity(inner: TaskStore, identity: string): TaskStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "createTask")
        return (spec: Parameters<TaskStore["createTask"]>[0]) => target.createTask({ ...spec, identity });
      return value.bind(target);
    },
  });
}
