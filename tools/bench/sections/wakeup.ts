import { defineTask } from "@taskwire/core";
import { z } from "zod";
import { notifyRoundTrip } from "../pg/notify";
import { withPgSchema } from "../pg/schema";
import { openTaskflow } from "../pg/taskwire";
import { row } from "../report";
import { repeatMedians, type Section, scaled } from "../section";
import { followStream } from "../sse/follow";
import { startBenchServer } from "../sse/latency";
import { BENCH_USER } from "../sse/ticks-task";
import { latency, nsToMs } from "../stats";

/** Gates of the running pulse task: pulse k is emitted once the bench opens gate k. */
const opened = new Set<number>();
const waiters = new Map<number, () => void>();
const emittedAt = new Map<number, bigint>();
const gate = (k: number) =>
  opened.has(k) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(k, resolve));
const openGate = (k: number) => {
  opened.add(k);
  waiters.get(k)?.();
};

/** Emits `n` pulses, each after the bench opened its gate, noting when each emit was called. */
const pulse = defineTask({
  name: "bench.pulse",
  input: z.object({ n: z.number() }),
  result: z.object({ n: z.number() }),
  events: { pulse: z.object({ k: z.number() }) },
  async run(input, ctx) {
    for (let k = 0; k < input.n; k++) {
      await gate(k);
      emittedAt.set(k, process.hrtime.bigint());
      ctx.emit("pulse", { k });
    }
    await ctx.step("end", () => input.n);
    return { n: input.n };
  },
});

/**
 * Cross-node wake-up on PostgreSQL: two taskflows on one schema, each behind its own HTTP server (node A
 * runs the worker, node B has none). A task started on A emits `n` pulses one at a time; a client of B
 * follows it over SSE; each sample is from the `ctx.emit` call on A to the frame parsed on B's client
 * (A's append commits and notifies, B's listener wakes its stream, which reads the WAL and writes the
 * frame). Limit: a raw LISTEN/NOTIFY round trip between two connections.
 */
export const wakeupSection: Section = {
  name: "wakeup",
  async run(ctx) {
    const { config } = ctx;
    return withPgSchema(config.pgUrl, 1, async ({ url, schema }) => {
      const target = { url, schema, poolSize: 4 };
      const nodeA = await openTaskflow(target);
      const nodeB = await openTaskflow(target, { worker: false });
      nodeA.taskflow.task(pulse);
      nodeB.taskflow.task(pulse);
      const serverA = await startBenchServer(nodeA.taskflow);
      const serverB = await startBenchServer(nodeB.taskflow);
      try {
        const measure = async (n: number) => {
          const started = await fetch(`${serverA.url}/api/tasks/${pulse.name}`, {
            method: "POST",
            headers: { "x-forwarded-user": BENCH_USER, "content-type": "application/json" },
            body: JSON.stringify({ n }),
          });
          if (started.status !== 202) throw new Error(`start on node A answered ${started.status}`);
          const { taskId } = (await started.json()) as { taskId: string };
          const times: number[] = [];
          await followStream(`${serverB.url}/api/tasks/${taskId}/events`, (event) => {
            if (event.event === "ready") openGate(0);
            if (event.event !== "pulse") return;
            const { k } = JSON.parse(event.data) as { k: number };
            times.push(nsToMs(process.hrtime.bigint() - (emittedAt.get(k) ?? 0n)));
            openGate(k + 1);
          });
          opened.clear();
          waiters.clear();
          emittedAt.clear();
          if (times.length !== n) throw new Error(`got ${times.length} pulses of ${n}`);
          return latency(times);
        };
        const { median, samples } = await repeatMedians(ctx, async (scale) => {
          const n = scaled(config.samples, scale);
          const wake = await measure(n);
          const notify = await notifyRoundTrip(url, `${schema}_bench_wake`, n);
          return {
            wakeP50: wake.p50Ms,
            wakeP99: wake.p99Ms,
            notifyP50: notify.p50Ms,
            notifyP99: notify.p99Ms,
          };
        });
        return {
          samples,
          rows: [
            row("wakeup", {
              id: "p50",
              scenario: `emit on node A → frame on a client of node B, p50 (${config.samples} in a row)`,
              ours: median.wakeP50,
              unit: "ms",
              limit: { label: "raw LISTEN/NOTIFY round trip p50", value: median.notifyP50 },
            }),
            row("wakeup", {
              id: "p99",
              scenario: "the same, p99",
              ours: median.wakeP99,
              unit: "ms",
              limit: { label: "raw LISTEN/NOTIFY round trip p99", value: median.notifyP99 },
            }),
          ],
        };
      } finally {
        await serverA.close();
        await serverB.close();
        await nodeA.taskflow.shutdown();
        await nodeB.taskflow.shutdown();
      }
    });
  },
};
