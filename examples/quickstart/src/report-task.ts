import { createHash, randomBytes } from "node:crypto";
import { defineTask, NonRetriableError, step } from "@taskwire/core";
import { z } from "zod";

/** Waits `ms`, or rejects as soon as the task is cancelled or the server shuts down. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * One chunk of the report: a checkpoint that returns a random token. Because the token is random, a
 * checkpoint that ran twice would change the digest — the quickstart makes exactly-once visible.
 */
const renderChunk = step(
  "renderChunk",
  async (index: number, chunkMs: number, failAt: number | undefined, signal: AbortSignal) => {
    await pause(chunkMs, signal);
    if (failAt === index)
      throw new NonRetriableError(`Chunk ${index} failed (failAt = ${failAt}).`, { code: "CHUNK_FAILED" });
    return randomBytes(8).toString("hex");
  },
);

/** The lowercase hex SHA-256 of the chunk tokens joined by "\n". */
export function digestOf(tokens: readonly string[]): string {
  return createHash("sha256").update(tokens.join("\n")).digest("hex");
}

/** `reports.generate`: renders `chunks` chunks, `chunkMs` each, streaming a progress event per chunk. */
export const generateReport = defineTask({
  name: "reports.generate",
  input: z.object({
    chunks: z.number().int().min(1).max(500).default(10),
    chunkMs: z.number().int().min(0).max(10_000).default(300),
    failAt: z.number().int().min(1).optional(),
  }),
  result: z.object({ chunks: z.number(), digest: z.string() }),
  events: { progress: z.object({ done: z.number(), total: z.number(), token: z.string() }) },
  retry: { maxAttempts: 1 },
  async run(input, ctx) {
    const tokens: string[] = [];
    for (let index = 1; index <= input.chunks; index++) {
      const token = await renderChunk(index, input.chunkMs, input.failAt, ctx.signal);
      tokens.push(token);
      ctx.emit("progress", { done: index, total: input.chunks, token });
    }
    return { chunks: input.chunks, digest: digestOf(tokens) };
  },
});
