import {
  type ChildEventData,
  createTaskflow,
  defineTask,
  runInUserContext,
  type TaskEvent,
  type Taskflow,
} from "@taskwire/core";
import { postgresStore } from "@taskwire/postgres";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";
import { pino } from "pino";
import { expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";

const env = await setupPgEnv("flowsnodes");
const silent = pino({ level: "silent" });
const alice = { userId: "alice" };

/** Which node ran each child, and gates that hold children until both nodes have claimed some. */
const ranOn = new Map<string, string>();
const release = { go: false };

/** The same task name on B and C; the body records its node. Blocks until released or cancelled. */
function childOn(node: string) {
  return defineTask({
    name: "nodes.child",
    input: z.object({ i: z.number(), hold: z.boolean() }),
    result: z.object({ i: z.number(), node: z.string() }),
    async run(input, ctx) {
      ranOn.set(ctx.taskId, node);
      await ctx.step("work", () => input.i);
      while (input.hold || !release.go) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (!input.hold && release.go) break;
      }
      return { i: input.i, node };
    },
  });
}

const child = childOn("A"); // a definition to spawn by (the same name everywhere)
const parent = defineTask({
  name: "nodes.parent",
  input: z.object({ n: z.number(), hold: z.boolean() }),
  result: z.object({ sum: z.number(), approved: z.boolean() }),
  events: { awaiting_approval: z.object({}) },
  signals: { approve: z.object({ approved: z.boolean() }) },
  async run(input, ctx) {
    const handles = await Promise.all(
      Array.from({ length: input.n }, (_, i) => ctx.spawn(child, { i, hold: input.hold })),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    ctx.emit("awaiting_approval", {});
    const { approved } = await ctx.waitForSignal("approve");
    return { sum: results.reduce((a, r) => a + r.i, 0), approved };
  },
});

/** A node: its own store (pool + LISTEN connection) on the shared schema, its own worker. */
async function node(register: (tf: Taskflow) => void, worker = true): Promise<Taskflow> {
  const store = postgresStore({ connectionString: env.url, schema: env.schema, max: 4 });
  const taskflow = await createTaskflow({
    store,
    logger: silent,
    worker,
    concurrency: 2,
    pollIntervalMs: 200,
    leaseMs: 5_000,
  });
  register(taskflow);
  onTestFinished(() => taskflow.shutdown());
  return taskflow;
}

async function collect(taskflow: Taskflow, taskId: string): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  await runInUserContext(alice, async () => {
    for await (const event of taskflow.subscribe(taskId)) out.push(event);
  });
  return out;
}

function expectExactStream(events: TaskEvent[], children: number, settled: string) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const bridge = events.filter((e) => e.name === "child").map((e) => e.data as ChildEventData);
  expect(bridge.filter((c) => c.status === "queued")).toHaveLength(children);
  expect(bridge.filter((c) => c.status === settled)).toHaveLength(children);
  expect(new Set(bridge.map((c) => c.taskId)).size).toBe(children);
}

describePg(env, "flows across three PostgreSQL nodes", () => {
  it("parent on A, children on B and C, a signal through C, a cancel through B raced from C: all settle, A's stream is exact", async () => {
    ranOn.clear();
    release.go = false;
    // A runs parents only; B and C run children only (each registers its own body under the same name).
    const a = await node((tf) => {
      tf.task(parent);
    });
    const b = await node((tf) => {
      tf.task(childOn("B"));
    });
    const c = await node((tf) => {
      tf.task(childOn("C"));
    });
    // C's API side (what serves HTTP there): knows the parent's schema to validate signals, runs nothing.
    const cApi = await node((tf) => {
      tf.task(parent);
    }, false);

    // 1. Fan out 4 children; with concurrency 2 on each of B and C, both nodes must take some.
    const { taskId: p1 } = await runInUserContext(alice, () => a.start(parent, { n: 4, hold: false }));
    await vi.waitFor(() => expect(ranOn.size === 4, "all four children claimed").toBe(true), {
      timeout: 10_000,
      interval: 5,
    });
    expect(new Set(ranOn.values())).toEqual(new Set(["B", "C"]));
    release.go = true;
    await vi.waitFor(
      async () =>
        expect(
          (await runInUserContext(alice, () => a.get(p1))).status === "waiting",
          "the parent waiting for its signal",
        ).toBe(true),
      { timeout: 10_000, interval: 5 },
    );
    await runInUserContext(alice, () => cApi.signal(p1, "approve", { approved: true }));
    const events1 = await collect(a, p1);
    expect(events1.at(-1)).toMatchObject({ name: "completed", data: { result: { sum: 6, approved: true } } });
    expectExactStream(events1, 4, "completed");
    expect(events1.filter((e) => e.name === "awaiting_approval")).toHaveLength(1);

    // 2. A second parent whose children hold until cancelled; the cancel goes through B.
    ranOn.clear();
    const { taskId: p2 } = await runInUserContext(alice, () => a.start(parent, { n: 4, hold: true }));
    await vi.waitFor(() => expect(ranOn.size === 4, "all four held children running").toBe(true), {
      timeout: 10_000,
      interval: 5,
    });
    // Through B — and raced from C at the same moment: exactly one request is the first; both succeed.
    const outcomes = await runInUserContext(alice, () => Promise.all([b.cancel(p2), c.cancel(p2)]));
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["already_requested", "requested"]);
    const events2 = await collect(a, p2);
    expect(events2.at(-1)?.name).toBe("cancelled");
    expectExactStream(events2, 4, "cancelled");
    const children = await runInUserContext(alice, () => a.list({ parentId: p2 }));
    expect(children.map((t) => t.status)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled"]);
  }, 60_000);
});
