import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { action, alice, blockingTask, bob, makeHarness, operator, release } from "./helpers";

/** Every inspector route, for a task id. */
const routes = (id: string) =>
  [
    ["get", "/inspector/"],
    ["get", "/inspector"],
    ["get", "/inspector/inspector.js"],
    ["get", "/inspector/api/me"],
    ["get", "/inspector/api/tasks"],
    ["get", `/inspector/api/tasks/${id}`],
    ["get", `/inspector/api/tasks/${id}/events`],
    ["post", `/inspector/api/tasks/${id}/cancel`],
    ["post", `/inspector/api/tasks/${id}/retry`],
    ["post", `/inspector/api/tasks/${id}/signals/approve`],
  ] as const;

describe("inspector access", () => {
  it("answers 401 (nobody) and 403 (authorize said false) on every route, as JSON without task data", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "access-401" });
    onTestFinished(() => release("access-401"));
    for (const [method, path] of routes(id)) {
      for (const [headers, status, code] of [
        [{}, 401, "UNAUTHENTICATED"],
        [{ ...alice, "x-test-deny": "1" }, 403, "FORBIDDEN"],
      ] as const) {
        const res = await request(h.tw.app)[method](path).set(headers).set(action).send({ approved: true });
        expect(res.status, `${method} ${path}`).toBe(status);
        expect(res.type).toBe("application/json");
        expect(res.body.error.code).toBe(code);
        expect(res.text).not.toContain(id);
        expect(res.text).not.toContain("test.blocking");
      }
    }
    // Nothing happened to the task.
    expect((await h.taskflow.get(id)).cancelRequestedAt).toBeUndefined();
  });

  it("refuses an owner grant naming the service principal, and a malformed grant fails closed (500, no data)", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "access-service" });
    onTestFinished(() => release("access-service"));
    const service = await request(h.tw.app).get("/inspector/api/tasks").set({ "x-test-user": "service" });
    expect(service.status).toBe(401);
    expect(service.text).not.toContain(id);

    const broken = await makeHarness(onTestFinished, { authorize: () => ({ owner: "" }) });
    await broken.startAs("alice", blockingTask, { key: "access-broken" });
    onTestFinished(() => release("access-broken"));
    const res = await request(broken.tw.app).get("/inspector/api/tasks");
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("INTERNAL");
    expect(res.text).not.toContain("test.blocking");
  });

  it("an owner grant never reaches another owner's task: 404 on every task route, absent from the list", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "access-bob" });
    onTestFinished(() => release("access-bob"));
    await h.waitForStatus(id, "running");
    for (const [method, path] of routes(id).slice(5)) {
      const res = await request(h.tw.app)[method](path).set(bob).set(action).send({ approved: true });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("TASK_NOT_FOUND");
      expect(res.text).not.toContain("test.blocking");
    }
    const list = await request(h.tw.app).get("/inspector/api/tasks").set(bob);
    expect(list.status).toBe(200);
    expect(list.body.tasks).toEqual([]);
    // Bob's cancel did nothing; alice's own view is intact.
    expect((await h.taskflow.get(id)).cancelRequestedAt).toBeUndefined();
    const own = await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(alice);
    expect(own.status).toBe(200);
    expect(own.body.task.taskId).toBe(id);
  });

  it("an owner grant lists only that owner's tasks; owners are redacted unless showOwners", async () => {
    const h = await makeHarness(onTestFinished);
    const a = await h.startAs("alice", blockingTask, { key: "access-list-a" });
    const b = await h.startAs("bob", blockingTask, { key: "access-list-b" });
    onTestFinished(() => {
      release("access-list-a");
      release("access-list-b");
    });
    const mine = await request(h.tw.app).get("/inspector/api/tasks").set(alice);
    expect(mine.body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual([a]);
    expect(mine.body.tasks[0]).not.toHaveProperty("owner");

    const all = await request(h.tw.app).get("/inspector/api/tasks").set(operator);
    expect(all.body.tasks.map((t: { taskId: string }) => t.taskId).sort()).toEqual([a, b].sort());
    expect(all.text).not.toContain("alice");
    expect(all.text).not.toContain("bob");
    const shown = await request(h.tw.app)
      .get("/inspector/api/tasks")
      .set({ ...operator, "x-test-show-owners": "1" });
    const owners = Object.fromEntries(
      shown.body.tasks.map((t: { taskId: string; owner: string }) => [t.taskId, t.owner]),
    );
    expect(owners).toEqual({ [a]: "alice", [b]: "bob" });
  });

  it("the operator reads and acts on any owner's task", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "access-operator" });
    onTestFinished(() => release("access-operator"));
    await h.waitForStatus(id, "running");
    const detail = await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(operator);
    expect(detail.status).toBe(200);
    expect(detail.body.task).not.toHaveProperty("owner");
    const cancel = await request(h.tw.app)
      .post(`/inspector/api/tasks/${id}/cancel`)
      .set(operator)
      .set(action);
    expect(cancel.status).toBe(202);
    expect(cancel.body.outcome).toBe("requested");
    await h.waitForStatus(id, "cancelled");
  });

  it("/api/me says whose view it is", async () => {
    const h = await makeHarness(onTestFinished, { refreshMs: 700 });
    expect((await request(h.tw.app).get("/inspector/api/me").set(alice)).body).toEqual({
      scope: "owner",
      owner: "alice",
      showOwners: false,
      refreshMs: 700,
    });
    expect((await request(h.tw.app).get("/inspector/api/me").set(operator)).body).toMatchObject({
      scope: "all",
      showOwners: false,
    });
  });
});
