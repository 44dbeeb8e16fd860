import {
  type ClientTaskId,
  createTaskClient,
  type SignalNameOf,
  type SignalPayloadOf,
  type SignalResponse,
  type StartResponse,
  type TaskClient,
  type TaskEventOf,
  type TaskSnapshotJson,
} from "@taskwire/client";
import { describe, expectTypeOf, it } from "vitest";
import type { approvalTask, flakyTask, pacedTask, tasks } from "./helpers";

type Approval = typeof approvalTask;
type Flaky = typeof flakyTask;

// Never called: the assertions are checked by `tsc --noEmit` (the root config includes test files).
function typedByTaskMap() {
  const client = createTaskClient<typeof tasks>({ baseUrl: "/api" });
  expectTypeOf(client).toEqualTypeOf<TaskClient<typeof tasks>>();
  // Names autocomplete from the map; the input is that task's.
  void client.start("client.approval", { comments: 1 });
  void client.start("client.approval", {});
  // @ts-expect-error not one of the app's tasks
  void client.start("client.nope", {});
  // @ts-expect-error comments is a number
  void client.start("client.approval", { comments: "1" });
  // @ts-expect-error the input of client.flaky, not client.approval
  void client.start("client.approval", { key: "k" });
  // @ts-expect-error the per-call type parameter is the task name here
  void client.start<Approval>("client.approval", {});
  expectTypeOf(client.run("client.flaky", { key: "k" })).resolves.toEqualTypeOf<{ attempt: number }>();

  return async () => {
    const { taskId } = await client.start("client.approval", {});
    expectTypeOf(taskId).toEqualTypeOf<ClientTaskId<Approval>>();

    // Signal names and payloads come from the task's `signals` (through the id `start` returned).
    expectTypeOf(
      client.signal(taskId, "approve", { approved: true }),
    ).resolves.toEqualTypeOf<SignalResponse>();
    void client.signal(taskId, "comment", { text: "looks good", at: "2030-01-01T00:00:00.000Z" });
    void client.signal(taskId, "approve", { approved: false }, { idempotencyKey: "click-1" });
    // @ts-expect-error an undeclared signal
    void client.signal(taskId, "reject", { approved: false });
    // @ts-expect-error approved is a boolean
    void client.signal(taskId, "approve", { approved: "yes" });
    // @ts-expect-error the payload of "comment", not of "approve"
    void client.signal(taskId, "approve", { text: "hi", at: "now" });
    // @ts-expect-error a payload is required
    void client.signal(taskId, "approve");

    const flaky = await client.start("client.flaky", { key: "k" });
    // @ts-expect-error client.flaky declares no signals
    void client.signal(flaky.taskId, "approve", { approved: true });
    expectTypeOf(client.retry(flaky.taskId)).resolves.toEqualTypeOf<TaskSnapshotJson<Flaky>>();
    for await (const event of client.subscribe(flaky.taskId)) {
      expectTypeOf(event.name).toEqualTypeOf<"tick" | "child" | "completed" | "failed" | "cancelled">();
    }
  };
}

// The untyped client keeps its per-call style, for signals too.
function typedPerCall() {
  const client = createTaskClient({ baseUrl: "/api" });
  expectTypeOf(client.start<Approval>("client.approval", {})).resolves.toEqualTypeOf<
    StartResponse<Approval>
  >();
  void client.signal<Approval>("some-id", "approve", { approved: true });
  // @ts-expect-error approved is a boolean
  void client.signal<Approval>("some-id", "approve", { approved: 1 });
  // An untyped id takes any name and payload (the server validates them).
  void client.signal("some-id", "anything", { whatever: 1 });
  void client.start("any.task", { any: "input" });
}

describe("types of flows", () => {
  it("types start/run by task name from `createTaskClient<typeof tasks>`, and signals by the task", () => {
    expectTypeOf(typedByTaskMap).toBeFunction();
    expectTypeOf(typedPerCall).toBeFunction();
  });

  it("derives signal names and JSON payloads from the definition's signals", () => {
    expectTypeOf<SignalNameOf<Approval>>().toEqualTypeOf<"approve" | "comment">();
    expectTypeOf<SignalNameOf<Flaky>>().toBeNever();
    expectTypeOf<SignalPayloadOf<Approval, "approve">>().toEqualTypeOf<{ approved: boolean }>();
    // z.coerce.date() takes anything as input (an ISO string over JSON).
    expectTypeOf<SignalPayloadOf<Approval, "comment">>().toEqualTypeOf<{ text: string; at: unknown }>();
    expectTypeOf<SignalNameOf>().toEqualTypeOf<string>();
  });

  it("includes child events in every task's events", () => {
    type Child = Extract<TaskEventOf<typeof pacedTask>, { name: "child" }>;
    expectTypeOf<Child["data"]>().toEqualTypeOf<{
      taskId: string;
      task: string;
      status: "queued" | "completed" | "failed" | "cancelled";
    }>();
  });
});
