import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  action,
  alice,
  approvalTask,
  blockingTask,
  fix,
  flakyTask,
  makeHarness,
  parentTask,
  release,
} from "./helpers";

describe("inspector JSON API", () => {
  it("lists the caller's tasks newest first with status and task filters and exact cursor paging", async () => {
    const h = await makeHarness(onTestFinished);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await h.startAs("alice", flakyTask, { key: `list-${i}` }));
    const waiting = await h.startAs("alice", approvalTask, {});
    for (const id of ids) await h.waitForStatus(id, "failed");
    await h.waitForStatus(waiting, "waiting");

    const all = await request(h.tw.app).get("/inspector/api/tasks").set(alice);
    expect(all.status).toBe(200);
    expect(all.headers["cache-control"]).toBe("no-store");
    expect(all.body.tasks).toHaveLength(6);
    type Row = { taskId: string; createdAt: string };
    const key = (t: Row) => `${t.createdAt}|${t.taskId}`;
    // Newest first: createdAt descending, then id descending (tasks started in one millisecond).
    expect(all.body.tasks.map(key)).toEqual(all.body.tasks.map(key).sort().reverse());
    expect(all.body.tasks.map((t: Row) => t.taskId).sort()).toEqual([...ids, waiting].sort());
    const row = all.body.tasks.find((t: Row) => t.taskId === waiting);
    expect(row).toMatchObject({ task: "test.approval", status: "waiting", attempt: 1 });
    expect(all.body.nextCursor).toBeNull();

    const failed = await request(h.tw.app).get("/inspector/api/tasks?status=failed").set(alice);
    expect(failed.body.tasks.map((t: { taskId: string }) => t.taskId).sort()).toEqual([...ids].sort());
    expect(failed.body.tasks[0].error).toMatchObject({ message: expect.stringContaining("is broken") });
    const byName = await request(h.tw.app).get("/inspector/api/tasks?task=test.approval").set(alice);
    expect(byName.body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual([waiting]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = { limit: "4", ...(cursor ? { cursor } : {}) };
      const page = await request(h.tw.app).get("/inspector/api/tasks").query(query).set(alice);
      seen.push(...page.body.tasks.map((t: { taskId: string }) => t.taskId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.tasks.map((t: { taskId: string }) => t.taskId));

    const farFuture = Buffer.from(JSON.stringify([9e15, " "])).toString("base64url");
    for (const bad of ["status=nope", "limit=0", "limit=201", "cursor=%21%21", `cursor=${farFuture}`]) {
      const res = await request(h.tw.app).get(`/inspector/api/tasks?${bad}`).set(alice);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_ERROR");
      expect(res.body.error.details.issues[0].path.split(".")[0]).toBe(bad.split("=")[0]);
    }
  });

  it("the detail has the input, a step timeline with durations and attempts, and the declared signals", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "detail-1" });
    onTestFinished(() => release("detail-1"));
    await h.waitForStatus(id, "running");
    await waitForSteps(h.tw.app, id, 1);
    const res = await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(alice);
    expect(res.status).toBe(200);
    expect(res.body.task).toMatchObject({
      taskId: id,
      task: "test.blocking",
      status: "running",
      input: { key: "detail-1" },
    });
    expect(res.body.registered).toBe(true);
    expect(res.body.events).toEqual(["tick"]);
    expect(res.body.signals).toEqual([]);
    expect(res.body.actions).toEqual({ cancel: true, retry: false, signal: false });
    const [step] = res.body.steps;
    expect(step).toMatchObject({ position: 0, key: "prepare#0", emits: 0, output: "ready", attempts: 1 });
    expect(step.durationMs).toBe(Date.parse(step.at) - Date.parse(step.startedAt));

    const approval = await h.startAs("alice", approvalTask, {});
    await h.waitForStatus(approval, "waiting");
    const waiting = await request(h.tw.app).get(`/inspector/api/tasks/${approval}`).set(alice);
    expect(waiting.body.actions).toEqual({ cancel: true, retry: false, signal: true });
    expect(waiting.body.signals).toEqual([
      {
        name: "approve",
        schema: expect.objectContaining({ type: "object", properties: { approved: { type: "boolean" } } }),
      },
    ]);
  });

  it("the detail draws the children as a tree, each with its status", async () => {
    const h = await makeHarness(onTestFinished);
    fix("tree-a");
    fix("tree-b");
    const id = await h.startAs("alice", parentTask, { keys: ["tree-a", "tree-b"] });
    await h.waitForStatus(id, "completed");
    const res = await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(alice);
    expect(res.body.children).toHaveLength(2);
    for (const child of res.body.children)
      expect(child).toMatchObject({
        task: "test.flaky",
        status: "completed",
        children: [],
        truncated: false,
      });
    expect(res.body.childrenTruncated).toBe(false);
    expect(res.body.task.result).toEqual({ count: 2 });
    // The list leaves results out (they can be large); the detail has them.
    const listed = await request(h.tw.app).get("/inspector/api/tasks?task=test.parent").set(alice);
    expect(listed.body.tasks[0]).toMatchObject({ taskId: id, status: "completed" });
    expect(listed.body.tasks[0]).not.toHaveProperty("result");
    // Each child's detail links back to its parent.
    const child = await request(h.tw.app)
      .get(`/inspector/api/tasks/${res.body.children[0].taskId}`)
      .set(alice);
    expect(child.body.task.parentId).toBe(id);
    // In spawn order: the parent's spawn checkpoints hold the child ids.
    const spawned = res.body.steps
      .filter((s: { key: string }) => s.key.startsWith("spawn:test.flaky#"))
      .map((s: { output: string }) => s.output);
    expect(spawned).toHaveLength(2);
    expect(res.body.children.map((c: { taskId: string }) => c.taskId)).toEqual(spawned);
  });

  it("cancel requests cancellation of a running task (202) and says when it was already finished", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", blockingTask, { key: "cancel-1" });
    onTestFinished(() => release("cancel-1"));
    await h.waitForStatus(id, "running");
    const res = await request(h.tw.app).post(`/inspector/api/tasks/${id}/cancel`).set(alice).set(action);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ taskId: id, outcome: "requested" });
    await h.waitForStatus(id, "cancelled");
    const again = await request(h.tw.app).post(`/inspector/api/tasks/${id}/cancel`).set(alice).set(action);
    expect(again.body.outcome).toBe("already_finished");
    const detail = await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(alice);
    expect(detail.body.actions).toEqual({ cancel: false, retry: false, signal: false });
  });

  it("retry re-queues a failed task (attempt 2) and answers 409 NOT_RESUMABLE otherwise", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", flakyTask, { key: "retry-1" });
    await h.waitForStatus(id, "failed");
    expect((await request(h.tw.app).get(`/inspector/api/tasks/${id}`).set(alice)).body.actions.retry).toBe(
      true,
    );
    fix("retry-1");
    const res = await request(h.tw.app).post(`/inspector/api/tasks/${id}/retry`).set(alice).set(action);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ taskId: id, status: "queued", attempt: 2 });
    await h.waitForStatus(id, "completed");
    expect((await h.taskflow.get(id)).result).toEqual({ attempt: 2 });
    const again = await request(h.tw.app).post(`/inspector/api/tasks/${id}/retry`).set(alice).set(action);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: "NOT_RESUMABLE", details: { status: "completed" } });
  });

  it("a signal is validated by the task's own schema (400 naming the field), then delivered", async () => {
    const h = await makeHarness(onTestFinished);
    const id = await h.startAs("alice", approvalTask, {});
    await h.waitForStatus(id, "waiting");
    const url = `/inspector/api/tasks/${id}/signals/approve`;
    const bad = await request(h.tw.app).post(url).set(alice).set(action).send({ approved: "yes" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("VALIDATION_ERROR");
    expect(bad.body.error.details.issues[0].path).toBe("approved");
    const undeclared = await request(h.tw.app)
      .post(`/inspector/api/tasks/${id}/signals/nope`)
      .set(alice)
      .set(action)
      .send({});
    expect(undeclared.status).toBe(400);
    const notJson = await request(h.tw.app)
      .post(url)
      .set(alice)
      .set(action)
      .set("Content-Type", "application/json")
      .send("{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe("INVALID_JSON");
    expect((await h.taskflow.get(id)).status).toBe("waiting");

    const ok = await request(h.tw.app).post(url).set(alice).set(action).send({ approved: true });
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ taskId: id, name: "approve", index: 0, duplicate: false });
    await h.waitForStatus(id, "completed");
    expect((await h.taskflow.get(id)).result).toEqual({ approved: true });
    const late = await request(h.tw.app).post(url).set(alice).set(action).send({ approved: true });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("TASK_FINISHED");
  });

  it("actions need the X-Taskwire-Inspector header and are refused cross-site (CSRF): 403, nothing done", async () => {
    const h = await makeHarness(onTestFinished);
    const running = await h.startAs("alice", blockingTask, { key: "csrf-1" });
    onTestFinished(() => release("csrf-1"));
    const failed = await h.startAs("alice", flakyTask, { key: "csrf-2" });
    const waiting = await h.startAs("alice", approvalTask, {});
    await h.waitForStatus(running, "running");
    await h.waitForStatus(failed, "failed");
    await h.waitForStatus(waiting, "waiting");
    const attempts = [
      [`/inspector/api/tasks/${running}/cancel`, {}],
      [`/inspector/api/tasks/${failed}/retry`, {}],
      [`/inspector/api/tasks/${waiting}/signals/approve`, { approved: true }],
    ] as const;
    for (const [url, body] of attempts) {
      // What a cross-site HTML form can send: a form-encoded POST with the victim's cookies, no custom header.
      const form = await request(h.tw.app).post(url).set(alice).type("form").send(body);
      expect(form.status, url).toBe(403);
      expect(form.body.error.code).toBe("FORBIDDEN");
      const json = await request(h.tw.app).post(url).set(alice).send(body);
      expect(json.status, url).toBe(403);
      const crossSite = await request(h.tw.app)
        .post(url)
        .set(alice)
        .set(action)
        .set("Sec-Fetch-Site", "cross-site")
        .send(body);
      expect(crossSite.status, url).toBe(403);
      const wrong = await request(h.tw.app)
        .post(url)
        .set(alice)
        .set("X-Taskwire-Inspector", "yes")
        .send(body);
      expect(wrong.status, url).toBe(403);
    }
    expect((await h.taskflow.get(running)).cancelRequestedAt).toBeUndefined();
    expect((await h.taskflow.get(failed)).status).toBe("failed");
    expect((await h.taskflow.get(waiting)).status).toBe("waiting");
  });

  it("serves the page with a content-security-policy, redirects the bare mount path, 404s unknown routes as JSON", async () => {
    const h = await makeHarness(onTestFinished);
    const page = await request(h.tw.app).get("/inspector/").set(alice);
    expect(page.status).toBe(200);
    expect(page.type).toBe("text/html");
    expect(page.text).toContain('<script type="module" src="inspector.js"></script>');
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const bare = await request(h.tw.app).get("/inspector?x=1").set(alice);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/inspector/?x=1");
    const script = await request(h.tw.app).get("/inspector/inspector.js").set(alice);
    expect(script.status).toBe(200);
    expect(script.type).toBe("text/javascript");
    const missing = await request(h.tw.app).get("/inspector/api/nothing").set(alice);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
  });
});

/** Waits until the task's detail shows `count` checkpoints. */
async function waitForSteps(app: Parameters<typeof request>[0], id: string, count: number) {
  await vi.waitFor(
    async () => {
      const res = await request(app).get(`/inspector/api/tasks/${id}`).set(alice);
      expect(res.body.steps.length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 5000, interval: 10 },
  );
}
