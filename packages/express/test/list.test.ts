import { runInUserContext, systemClock } from "@taskwire/core";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, blockingTask, bob, type Harness, makeHarness, quickTask } from "./helpers";

const NOW = Date.UTC(2026, 0, 1);

/** A harness whose clock never moves (every task shares one `createdAt`) and that runs nothing. */
function frozen(): Promise<Harness> {
  return makeHarness(onTestFinished, {
    taskflowOptions: { worker: false, clock: { now: () => NOW, setTimer: systemClock.setTimer } },
  });
}

/** Starts `count` quick tasks as `userId`; their ids, in start order. */
async function startMany(h: Harness, userId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { taskId } = await runInUserContext({ userId }, () => h.taskflow.start(quickTask, { n: 0 }));
    ids.push(taskId);
  }
  return ids;
}

/** Follows `nextCursor` from `query` to the end; every page's task ids, in order. */
async function allPages(h: Harness, query: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const res = await request(h.tw.app)
      .get("/api/tasks")
      .query(cursor === undefined ? query : { ...query, cursor })
      .set(alice);
    expect(res.status).toBe(200);
    pages.push(res.body.tasks.map((t: { taskId: string }) => t.taskId));
    if (res.body.nextCursor === null) return pages;
    cursor = res.body.nextCursor;
  }
  throw new Error("paging did not end");
}

/** Newest first: every task shares `createdAt`, so the id decides (descending). */
const newestFirst = (ids: string[]) => [...ids].sort().reverse();

describe("GET /tasks", () => {
  it("answers the caller's tasks newest first as public snapshots, with a null nextCursor on the last page", async () => {
    const h = await makeHarness(onTestFinished);
    const [id] = await startMany(h, "alice", 1);
    const res = await request(h.tw.app).get("/api/tasks").set(alice);
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    const one = await request(h.tw.app).get(`/api/tasks/${id}`).set(alice);
    expect(res.body.tasks).toHaveLength(1);
    expect(res.body.tasks[0]).toMatchObject({ taskId: id, task: "test.quick" });
    expect(Object.keys(res.body.tasks[0]).sort()).toEqual(Object.keys(one.body).sort());
    expect(res.body.nextCursor).toBeNull();
  });

  it("pages exactly over tasks sharing one createdAt: each task once, in order, full pages before the last", async () => {
    const h = await frozen();
    const ids = await startMany(h, "alice", 7);
    const pages = await allPages(h, { limit: "2" });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    expect(pages.flat()).toEqual(newestFirst(ids));
  });

  it("a page that ends exactly at the last task has a null nextCursor", async () => {
    const h = await frozen();
    const ids = await startMany(h, "alice", 4);
    const pages = await allPages(h, { limit: "2" });
    expect(pages).toEqual([newestFirst(ids).slice(0, 2), newestFirst(ids).slice(2)]);
  });

  it("limit defaults to 50", async () => {
    const h = await frozen();
    const ids = await startMany(h, "alice", 51);
    const pages = await allPages(h, {});
    expect(pages.map((p) => p.length)).toEqual([50, 1]);
    expect(pages.flat()).toEqual(newestFirst(ids));
  });

  it("another owner's tasks never appear", async () => {
    const h = await frozen();
    const mine = await startMany(h, "alice", 3);
    await startMany(h, "bob", 3);
    expect((await allPages(h, { limit: "2" })).flat()).toEqual(newestFirst(mine));
    const res = await request(h.tw.app).get("/api/tasks").set({ "x-forwarded-user": "carol" });
    expect(res.body).toEqual({ tasks: [], nextCursor: null });
    const bobs = await request(h.tw.app).get("/api/tasks").set(bob);
    expect(bobs.body.tasks).toHaveLength(3);
  });

  it("filters by status (one or several, comma-separated), task and parentId, also while paging", async () => {
    const h = await frozen();
    const quick = await startMany(h, "alice", 5);
    const cancelled = quick.slice(0, 3);
    for (const id of cancelled) await runInUserContext({ userId: "alice" }, () => h.taskflow.cancel(id));
    const { taskId: blocking } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(blockingTask, { key: "never" }),
    );
    expect((await allPages(h, { status: "cancelled", limit: "2" })).flat()).toEqual(newestFirst(cancelled));
    expect((await allPages(h, { status: "queued", task: "test.quick" })).flat()).toEqual(
      newestFirst(quick.slice(3)),
    );
    expect((await allPages(h, { status: "queued,cancelled", limit: "1" })).flat()).toEqual(
      newestFirst([...quick, blocking]),
    );
    expect((await allPages(h, { task: "test.blocking" })).flat()).toEqual([blocking]);
    expect((await allPages(h, { parentId: blocking })).flat()).toEqual([]);
  });

  it.each([
    ["limit", { limit: "0" }],
    ["limit", { limit: "201" }],
    ["limit", { limit: "ten" }],
    ["status", { status: "done" }],
    ["status", { status: "queued,," }],
    ["task", { task: "" }],
    ["cursor", { cursor: "not a cursor" }],
    ["cursor", { cursor: Buffer.from('["x","y"]').toString("base64url") }],
    ["cursor", { cursor: Buffer.from("[1]").toString("base64url") }],
    ["cursor", { cursor: "e30" }],
  ])("answers 400 VALIDATION_ERROR naming %s for %j", async (field, query) => {
    const h = await frozen();
    const res = await request(h.tw.app).get("/api/tasks").query(query).set(alice);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.message).toContain(`"${field}`);
    expect(res.body.error.details.issues[0].path).toMatch(new RegExp(`^${field}`));
  });

  it("answers 400 for a repeated query parameter and 401 without a user", async () => {
    const h = await frozen();
    const repeated = await request(h.tw.app).get("/api/tasks?limit=1&limit=2").set(alice);
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.details.issues[0].path).toBe("limit");
    expect((await request(h.tw.app).get("/api/tasks")).status).toBe(401);
  });
});
