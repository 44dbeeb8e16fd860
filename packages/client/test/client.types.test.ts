import {
  type CancelResponse,
  type ClientTaskId,
  type ClientTaskStatus,
  createTaskClient,
  type Jsonify,
  type StartResponse,
  type TaskEventOf,
  type TaskInputOf,
  type TaskResultOf,
  type TaskSnapshotJson,
  type TaskSubscription,
} from "@taskwire/client";
import type { TaskDefinition } from "@taskwire/core";
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { generateReport } from "../../../examples/quickstart/src/report-task";
import type { pacedTask } from "./helpers";

type Report = typeof generateReport;
type Paced = typeof pacedTask;

// Never called: the assertions are checked by `tsc --noEmit` (the root config includes test files).
function typeChecks() {
  const client = createTaskClient({ baseUrl: "/api" });

  // Input comes from the input schema's input type: defaults may be omitted, wrong fields are errors.
  void client.start<Report>("reports.generate", { chunks: 5 });
  void client.start<Report>("reports.generate", {});
  // @ts-expect-error chunks is a number
  void client.start<Report>("reports.generate", { chunks: "5" });
  // @ts-expect-error unknown field
  void client.start<Report>("reports.generate", { rows: 5 });
  expectTypeOf<TaskInputOf<Report>>().toEqualTypeOf<{
    chunks?: number | undefined;
    chunkMs?: number | undefined;
    failAt?: number | undefined;
  }>();

  const started = client.start<Report>("reports.generate", { chunks: 5 });
  expectTypeOf(started).resolves.toEqualTypeOf<StartResponse<Report>>();

  return async () => {
    const { taskId } = await started;
    expectTypeOf(taskId).toEqualTypeOf<ClientTaskId<Report>>();
    expectTypeOf(taskId).toMatchTypeOf<string>();

    // The task type flows from start's taskId into subscribe and get.
    const sub = client.subscribe(taskId);
    expectTypeOf(sub).toEqualTypeOf<TaskSubscription<Report>>();
    for await (const event of sub) {
      expectTypeOf(event.seq).toBeNumber();
      expectTypeOf(event.name).toEqualTypeOf<"progress" | "child" | "completed" | "failed" | "cancelled">();
      if (event.name === "child")
        expectTypeOf(event.data).toEqualTypeOf<{
          taskId: string;
          task: string;
          status: "queued" | "completed" | "failed" | "cancelled";
        }>();
      if (event.name === "progress")
        expectTypeOf(event.data).toEqualTypeOf<{ done: number; total: number; token: string }>();
      if (event.name === "completed")
        expectTypeOf(event.data).toEqualTypeOf<{ result: { chunks: number; digest: string } }>();
      if (event.name === "failed")
        expectTypeOf(event.data).toEqualTypeOf<{ error: { code: string; message: string } }>();
      if (event.name === "cancelled") expectTypeOf(event.data).toEqualTypeOf<{ reason: string }>();
    }
    expectTypeOf(sub.result).resolves.toEqualTypeOf<{ chunks: number; digest: string }>();

    const snapshot = await client.get(taskId);
    expectTypeOf(snapshot).toEqualTypeOf<TaskSnapshotJson<Report>>();
    expectTypeOf(snapshot.result).toEqualTypeOf<{ chunks: number; digest: string } | undefined>();
    expectTypeOf(snapshot.createdAt).toBeString();

    // A plain string id works too, typed by the explicit parameter.
    const other = client.subscribe<Report>("some-id", {
      onEvent: (e) => {
        if (e.name === "progress") expectTypeOf(e.data.done).toBeNumber();
      },
    });
    expectTypeOf(other.result).resolves.toEqualTypeOf<TaskResultOf<Report>>();

    expectTypeOf(client.cancel(taskId)).resolves.toEqualTypeOf<CancelResponse>();
    expectTypeOf(client.retry(taskId)).resolves.toEqualTypeOf<TaskSnapshotJson<Report>>();
    expectTypeOf(snapshot.status).toEqualTypeOf<ClientTaskStatus>();
    expectTypeOf<"waiting">().toMatchTypeOf<ClientTaskStatus>();
    expectTypeOf(snapshot.parentId).toEqualTypeOf<string | undefined>();
    expectTypeOf(client.run<Report>("reports.generate", { chunks: 1 })).resolves.toEqualTypeOf<{
      chunks: number;
      digest: string;
    }>();
  };
}

describe("types", () => {
  it("types input, events and result from a type-only import of the definition", () => {
    expectTypeOf(typeChecks).toBeFunction();
  });

  it("types data as its JSON form: bigint and Date arrive as strings", () => {
    type Tick = Extract<TaskEventOf<Paced>, { name: "tick" }>;
    expectTypeOf<Tick["data"]>().toEqualTypeOf<{ i: number; big: string; at: string }>();
    expectTypeOf<TaskResultOf<Paced>>().toEqualTypeOf<{ ticks: number; total: string; user: string }>();
    expectTypeOf<
      Jsonify<{ n: bigint; at: Date; note?: string; fn: () => void; list: bigint[] }>
    >().toEqualTypeOf<{
      n: string;
      at: string;
      note?: string;
      list: string[];
    }>();
  });

  it("types input as the JSON that crosses HTTP: bigint and Date fields are strings", () => {
    type Stamped = TaskDefinition<
      z.ZodObject<{ n: z.ZodBigInt; at: z.ZodDate; label: z.ZodOptional<z.ZodString> }>,
      z.ZodObject<Record<never, never>>,
      Record<never, never>
    >;
    expectTypeOf<TaskInputOf<Stamped>>().toEqualTypeOf<{ n: string; at: string; label?: string }>();
  });
});
