import { defineTask } from "@taskwire/core";
import { z } from "zod";
import { generateReport } from "./report-task";

const part = z.object({ taskId: z.string(), digest: z.string() });

/**
 * `reports.batch`: a flow. It spawns `parts` children of `reports.generate`, waits for all of them
 * (holding no worker slot meanwhile), then, with `approval`, asks a person: it emits `awaiting_approval`
 * and waits for the signal `approve`. A rejection still completes, with `approved: false`.
 */
export const batchReports = defineTask({
  name: "reports.batch",
  input: z.object({
    parts: z.number().int().min(1).max(20).default(3),
    chunks: z.number().int().min(1).max(500).default(5),
    chunkMs: z.number().int().min(0).max(10_000).default(300),
    approval: z.boolean().default(false),
  }),
  result: z.object({ parts: z.array(part), approved: z.boolean().nullable() }),
  events: { awaiting_approval: z.object({ parts: z.array(part) }) },
  signals: { approve: z.object({ approved: z.boolean() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    const { chunks, chunkMs } = input;
    // Spawns are memoized by occurrence, so a replay of this fan-out finds the same children.
    const handles = await Promise.all(
      Array.from({ length: input.parts }, () => ctx.spawn(generateReport, { chunks, chunkMs })),
    );
    const parts = await Promise.all(
      handles.map(async (handle) => ({ taskId: handle.taskId, digest: (await handle.result()).digest })),
    );
    if (!input.approval) return { parts, approved: null };
    ctx.emit("awaiting_approval", { parts });
    const { approved } = await ctx.waitForSignal("approve");
    return { parts, approved };
  },
});
