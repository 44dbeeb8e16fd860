import { createTaskflow, memoryStore, runInUserContext, type TaskSnapshot } from "@taskwire/core";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { quickTask } from "../../test/helpers";
import { publicSnapshot } from "./public-snapshot";

describe("publicSnapshot", () => {
  it("is JSON-safe and limited to the documented fields", async () => {
    const taskflow = await createTaskflow({
      store: memoryStore(),
      logger: pino({ level: "silent" }),
      pollIntervalMs: 20,
    });
    onTestFinished(() => taskflow.shutdown());
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      taskflow.start(taskflow.task(quickTask), { n: 1 }),
    );
    for await (const _ of taskflow.subscribe(taskId)) {
      // drain to the terminal event
    }
    const snapshot = publicSnapshot(await taskflow.get(taskId));
    expect(Object.keys(snapshot).sort()).toEqual([
      "createdAt",
      "lastSeq",
      "result",
      "status",
      "task",
      "taskId",
      "updatedAt",
    ]);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });

  it("shows a child's parentId and the waiting status; never the owner, attempt or cancel time", () => {
    const at = new Date("2030-01-02T03:04:05.000Z");
    const snapshot: TaskSnapshot = {
      taskId: "child-1",
      task: "reports.generate",
      status: "waiting",
      createdAt: at,
      updatedAt: at,
      lastSeq: 2,
      attempt: 1,
      owner: "alice",
      parentId: "parent-1",
      cancelRequestedAt: at,
    };
    expect(publicSnapshot(snapshot)).toEqual({
      taskId: "child-1",
      task: "reports.generate",
      status: "waiting",
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      lastSeq: 2,
      parentId: "parent-1",
    });
  });
});
