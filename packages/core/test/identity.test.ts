import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import {
  defineTask,
  getCurrentUserContext,
  isInUserContext,
  isTaskwireError,
  memoryStore,
  runInUserContext,
  SERVICE_PRINCIPAL,
  step,
} from "../src/index";
import { collect, crashableStore, deferred, makeTaskflow, waitFor } from "./helpers";

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
    await waitFor(
      async () => (await shared.loadHistory(taskId)).steps.length === 1,
      5_000,
      "the first checkpoint",
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
    await waitFor(() => observed.length > 0, 5_000, "the watcher rung");
    expect(new Set(observed)).toEqual(new Set(["watcher"]));
  });
});
