import { join } from "node:path";
import Database from "better-sqlite3";
import { spawnChild } from "../child-script";
import type { RecoveryLife } from "../recovery/worker";
import { row } from "../report";
import { repeatMedians, type Section } from "../section";

/** How often the fresh worker polls for expired leases (the engine default is 1000 ms). */
const POLL_MS = 50;

/** One crash and recovery: times in ms, all from the bench's clock. */
async function crashAndRecover(path: string, leaseMs: number) {
  const base = { path, leaseMs, pollMs: POLL_MS };
  const first = await spawnChild("recovery/worker.ts", { life: "first", ...base } satisfies RecoveryLife);
  let taskId: string;
  try {
    taskId = (JSON.parse(await first.line((l) => l.startsWith("{"))) as { taskId: string }).taskId;
    await first.line((l) => l === "stuck");
  } finally {
    await first.kill("SIGKILL");
  }
  const db = new Database(path, { readonly: true });
  const expiresAt = db
    .prepare("SELECT lease_expires_at FROM taskwire_tasks WHERE id = ?")
    .pluck()
    .get(taskId) as number;
  db.close();
  const restartedAt = Date.now();
  const second = await spawnChild("recovery/worker.ts", {
    life: "second",
    taskId,
    ...base,
  } satisfies RecoveryLife);
  try {
    await second.line((l) => l === "open");
    const openMs = Date.now() - restartedAt;
    const outcome = await second.line((l) => l === "completed" || l.startsWith("ended"), 30_000 + leaseMs);
    if (outcome !== "completed") throw new Error(`recovered task ${outcome}`);
    const recoveryMs = Date.now() - restartedAt;
    const leaseLeftMs = Math.max(0, expiresAt - restartedAt);
    // Nothing can finish the task before the lease expired AND the fresh process has its store open.
    const floorMs = Math.max(leaseLeftMs, openMs);
    return { recoveryMs, leaseLeftMs, beyondMs: recoveryMs - leaseLeftMs, openMs, floorMs };
  } finally {
    await second.kill("SIGKILL");
  }
}

/**
 * Recovery after SIGKILL: a child process runs a 5-step task on a SQLite file and is SIGKILLed inside its
 * third step; a fresh process is started at once and timed from its spawn until the task's `completed`
 * event. The dead lease must expire first (its expiry is read from the file) and the fresh process must
 * have opened its store, so the limit is the later of the two; the second row is the time beyond the
 * lease expiry (process start when it is longer than the lease left, the claim poll, the replay).
 */
export const recoverySection: Section = {
  name: "recovery",
  async run(ctx) {
    const leaseMs = ctx.config.recoveryLeaseMs;
    let runs = 0;
    const { median, samples } = await repeatMedians(ctx, () =>
      crashAndRecover(join(ctx.dir, `recovery-${runs++}.db`), leaseMs),
    );
    return {
      samples,
      rows: [
        row("recovery", {
          id: "total",
          scenario: `SIGKILL mid-task → fresh process spawned → completed (lease ${leaseMs} ms, poll ${POLL_MS} ms)`,
          ours: median.recoveryMs,
          unit: "ms",
          limit: { label: "later of lease expiry, store open", value: median.floorMs },
        }),
        row("recovery", {
          id: "beyond-lease",
          scenario: `time beyond the lease expiry (lease left at restart: ${median.leaseLeftMs.toFixed(0)} ms; spawn → open: ${median.openMs.toFixed(0)} ms)`,
          ours: median.beyondMs,
          unit: "ms",
        }),
      ],
    };
  },
};
