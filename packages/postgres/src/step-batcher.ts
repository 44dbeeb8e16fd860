import { type Lease, type StepRecord, StoreConflictError } from "@taskwire/core/store";
import { isUniqueViolation, type StoreDb } from "./store-db";

interface PendingStep {
  lease: Lease;
  step: StepRecord;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit of checkpoints: `appendStep` calls that arrive while a checkpoint write is in flight wait
 * for it and then go together, as ONE statement and one commit (`appendSteps`: every row fenced on its own
 * task, `ON CONFLICT DO NOTHING`, the rows written returned). A lone call goes at once as the single-row
 * statement, so a sequential task pays no extra latency; concurrent tasks share round trips and commits.
 * A call resolves only after the commit that made its row durable; a row the fence or the position check
 * refused is explained (lease lost, task gone, position taken) and rejected on its own.
 */
export class StepBatcher {
  #queue: PendingStep[] = [];
  #inFlight = false;

  constructor(private readonly db: StoreDb) {}

  append(lease: Lease, step: StepRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ lease, step, resolve, reject });
      if (!this.#inFlight) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#inFlight = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        await (batch.length === 1 ? this.#one(batch[0]!) : this.#many(batch));
      }
    } finally {
      this.#inFlight = false;
    }
  }

  async #one(p: PendingStep): Promise<void> {
    const { lease, step } = p;
    const values = [
      lease.taskId,
      lease.revision,
      lease.workerId,
      step.position,
      step.key,
      step.output,
      step.emits,
      step.at,
      step.startedAt,
      step.attempts,
    ];
    try {
      if ((await this.db.execute(this.db.sql.appendStep, values)) === 1) return p.resolve();
    } catch (error) {
      if (!isUniqueViolation(error)) return p.reject(error);
    }
    await this.#explain(p);
  }

  async #many(all: PendingStep[]): Promise<void> {
    // One row per (task, position) per statement: a second claimant of a position goes in the next round,
    // where it meets the row the first wrote (the returned keys could not tell the two apart).
    const seen = new Set<string>();
    const batch: PendingStep[] = [];
    const later: PendingStep[] = [];
    for (const p of all) {
      const key = keyOf(p.lease.taskId, p.step.position);
      (seen.has(key) ? later : batch).push(p);
      seen.add(key);
    }
    this.#queue = later.concat(this.#queue);
    const column = <T>(pick: (p: PendingStep) => T) => batch.map(pick);
    let written: Set<string>;
    try {
      const rows = await this.db.query<{ task_id: string; position: number }>(this.db.sql.appendSteps, [
        column((p) => p.lease.taskId),
        column((p) => p.lease.revision),
        column((p) => p.lease.workerId),
        column((p) => p.step.position),
        column((p) => p.step.key),
        column((p) => p.step.output),
        column((p) => p.step.emits),
        column((p) => p.step.at),
        column((p) => p.step.startedAt),
        column((p) => p.step.attempts),
      ]);
      written = new Set(rows.map((r) => keyOf(r.task_id, r.position)));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    await Promise.all(
      batch.map((p) =>
        written.has(keyOf(p.lease.taskId, p.step.position)) ? p.resolve() : this.#explain(p),
      ),
    );
  }

  async #explain(p: PendingStep): Promise<void> {
    const recorded = () =>
      new StoreConflictError(p.lease.taskId, `step #${p.step.position} is already recorded`);
    await this.db.explain(p.lease, recorded).catch(p.reject);
  }
}

function keyOf(taskId: string, position: number | string): string {
  return `${taskId}\u001f${Number(position)}`;
}
