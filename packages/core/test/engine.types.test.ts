import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  createTaskflow,
  defineTask,
  type InferTaskInput,
  type InferTaskResult,
  memoryStore,
  type SerializedError,
  step,
  type TaskEvent,
  type TaskId,
  type TypedTaskContext,
} from "../src/index";

const report = defineTask({
  name: "types.report",
  input: z.object({ rows: z.number(), label: z.string().default("x") }),
  result: z.object({ url: z.string() }),
  events: {
    progress: z.object({ done: z.number(), total: z.number() }),
    note: z.object({ text: z.string() }),
  },
  async run(input, ctx) {
    expectTypeOf(input).toEqualTypeOf<{ rows: number; label: string }>();
    expectTypeOf(ctx).toEqualTypeOf<
      TypedTaskContext<
        {
          progress: z.ZodObject<{ done: z.ZodNumber; total: z.ZodNumber }>;
          note: z.ZodObject<{ text: z.ZodString }>;
        },
        Record<never, never>
      >
    >();
    ctx.emit("progress", { done: 1, total: 2 });
    // @ts-expect-error unknown event name
    ctx.emit("progres", { done: 1, total: 2 });
    // @ts-expect-error wrong payload
    ctx.emit("progress", { done: "1", total: 2 });
    // @ts-expect-error missing field
    ctx.emit("note", {});
    const n = await ctx.step("n", () => 5);
    expectTypeOf(n).toEqualTypeOf<number>();
    return { url: `/r/${n}` };
  },
});

describe("type inference", () => {
  it("flows input, result and event types from defineTask to start and subscribe", async () => {
    expectTypeOf<InferTaskInput<typeof report>>().toEqualTypeOf<{
      rows: number;
      label?: string | undefined;
    }>();
    expectTypeOf<InferTaskResult<typeof report>>().toEqualTypeOf<{ url: string }>();
    const taskflow = await createTaskflow({ store: memoryStore(), worker: false });
    const ref = taskflow.task(report);
    expectTypeOf<InferTaskInput<typeof ref>>().toEqualTypeOf<{ rows: number; label?: string | undefined }>();
    const started = await taskflow.start(ref, { rows: 3 });
    expectTypeOf(started.taskId).toEqualTypeOf<TaskId<typeof report>>();
    // @ts-expect-error missing required input field
    await taskflow.start(ref, {}).catch(() => undefined);
    // @ts-expect-error wrong input type
    await taskflow.start(ref, { rows: "3" }).catch(() => undefined);
    const controller = new AbortController();
    controller.abort();
    for await (const event of taskflow.subscribe(started.taskId, { signal: controller.signal })) {
      expectTypeOf(event).toEqualTypeOf<TaskEvent<typeof report>>();
      if (event.name === "progress")
        expectTypeOf(event.data).toEqualTypeOf<{ done: number; total: number }>();
      if (event.name === "note") expectTypeOf(event.data).toEqualTypeOf<{ text: string }>();
      if (event.name === "completed") expectTypeOf(event.data.result).toEqualTypeOf<{ url: string }>();
      if (event.name === "failed")
        expectTypeOf(event.data.error).toMatchTypeOf<Pick<SerializedError, "code" | "message">>();
    }
    const snapshot = await taskflow.get(started.taskId);
    expectTypeOf(snapshot.result).toEqualTypeOf<{ url: string } | undefined>();
    await taskflow.shutdown();
  });

  it("types module-scope steps from the wrapped function", () => {
    const fetchRows = step("fetchRows", async (n: number) => [n]);
    expectTypeOf(fetchRows).parameters.toEqualTypeOf<[number]>();
    expectTypeOf(fetchRows).returns.toEqualTypeOf<Promise<number[]>>();
  });
});
