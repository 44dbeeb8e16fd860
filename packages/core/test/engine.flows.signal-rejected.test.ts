import { pino } from "pino";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { z } from "zod";
import { encode } from "../src/codec/codec";
import { defineTask, memoryStore, runInUserContext } from "../src/index";
import { collect, makeTaskflow } from "./helpers";

// A signal delivered without validation — as the CLI does, since it cannot load the task's schemas — must
// not fail the task when the task's schema rejects it: the wait skips it and keeps waiting.
const approval = defineTask({
  name: "flows.approval.unchecked",
  input: z.object({ waits: z.number() }),
  result: z.object({ answers: z.array(z.boolean()) }),
  signals: { approve: z.object({ approved: z.boolean() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    const answers: boolean[] = [];
    for (let i = 0; i < input.waits; i++) answers.push((await ctx.waitForSignal("approve")).approved);
    return { answers };
  },
});

/** Delivers straight through the store, unvalidated, like `taskwire tasks signal`. */
const deliverRaw = (store: ReturnType<typeof memoryStore>, taskId: string, payload: unknown) =>
  store.deliverSignal({ taskId, name: "approve", payload: encode(payload), now: Date.now() });

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe("a signal payload the task's schema rejects", () => {
  it("is skipped and logged, the wait consumes the next valid one, and a restart replays the same choice", async () => {
    const store = memoryStore();
    const { logger, lines } = captureLogs();
    const first = await makeTaskflow(onTestFinished, { store, logger });
    const ref = first.task(approval);
    const { taskId } = await runInUserContext({ userId: "ops" }, () => first.start(ref, { waits: 2 }));
    await vi.waitFor(async () => expect((await store.getTask(taskId))?.status).toBe("waiting"), {
      timeout: 5000,
      interval: 5,
    });
    await deliverRaw(store, taskId, { approved: "yes" }); // #0: invalid
    await deliverRaw(store, taskId, { approved: true }); // #1: the first valid one
    await vi.waitFor(
      () => expect(lines.some((l) => l.event === "task.signal_rejected" && l.index === 0)).toBe(true),
      { timeout: 5000, interval: 5 },
    );
    const rejected = lines.find((l) => l.event === "task.signal_rejected");
    expect(rejected).toMatchObject({ taskId, task: approval.name, signal: "approve", fields: ["approved"] });
    expect(JSON.stringify(rejected)).not.toContain("yes"); // the payload itself is never logged
    // The task took #1 and waits again (for the second valid one), rather than failing.
    await vi.waitFor(
      async () => {
        const history = await store.loadHistory(taskId);
        expect(history.steps.map((s) => s.key)).toContain("signal:approve#0");
        expect((await store.getTask(taskId))?.status).toBe("waiting");
      },
      { timeout: 5000, interval: 5 },
    );
    await first.shutdown();

    // Another process resumes it: the recorded wait replays, the next invalid one is skipped too.
    const second = await makeTaskflow(onTestFinished, { store });
    second.task(approval);
    await deliverRaw(store, taskId, { nope: 1 }); // #2: invalid
    await deliverRaw(store, taskId, { approved: false }); // #3: the second valid one
    const events = await collect(second, taskId);
    expect(events.at(-1)).toMatchObject({ name: "completed", data: { result: { answers: [true, false] } } });
    const history = await store.loadHistory(taskId);
    const consumed = history.steps
      .filter((s) => s.key.startsWith("signal:"))
      .map((s) => JSON.parse(s.output));
    expect(consumed.map((c: { index: number }) => c.index)).toEqual([1, 3]);
  });
});
