import { createTaskflow, memoryStore, runInUserContext } from "@taskwire/core";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { quickTask } from "../../test/helpers";
import { publicSnapshot } from "./task-router";

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
});
