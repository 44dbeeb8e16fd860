/**
 * Group commit. Write calls enqueue a synchronous `apply` function; one flush, scheduled once per burst,
 * runs every queued op in call order inside ONE `BEGIN IMMEDIATE` transaction and commits once, so N
 * concurrent writers pay for one WAL append instead of N. Each op settles on its own:
 *
 * - A logical failure (stale lease, duplicate seq) is returned as an {@link OpFailure}. Ops detect these
 *   with conditional statements before they write anything, so the failure leaves nothing to undo and
 *   the rest of the batch commits untouched.
 * - An unexpected exception (a constraint the op did not foresee, an I/O error) may have left the op
 *   half-applied, so the whole transaction is rolled back, that op alone is rejected, and the others are
 *   replayed in a fresh transaction. Nothing has been resolved yet, so the replay is invisible to callers.
 *
 * The flush is scheduled with `setImmediate`, not a microtask: it then runs after every callback of the
 * current event-loop turn, so writers whose continuations sit at different promise depths still land in
 * one batch. Measured with 4-16 concurrent task flows this gave ~1.5x the throughput of a microtask flush,
 * at no measurable cost for a lone sequential writer (an idle loop reaches the check phase at once).
 * Batches are capped at {@link MAX_BATCH} ops so one transaction never holds the write lock for long.
 *
 * Promises resolve only after `COMMIT` returns. Post-commit work (ringing doorbells) is registered with
 * {@link BatchScope.afterCommit} and runs only for batches that committed.
 */

/** A logical failure of one op: it is rejected with `error`, the other ops of its batch still commit. */
export class OpFailure {
  constructor(readonly error: Error) {}
}

/** What an op sees of its batch. */
export interface BatchScope {
  /** Runs `fn` after the batch commits; dropped if the batch rolls back. */
  afterCommit(fn: () => void): void;
}

/** One queued write: runs synchronously inside the batch transaction. */
export type WriteOp<T> = (scope: BatchScope) => T | OpFailure;

/** How the queue starts and ends its transactions. */
export interface TransactionControl {
  begin(): void;
  commit(): void;
  rollback(): void;
  inTransaction(): boolean;
}

/** Most ops committed in one transaction; a longer queue is committed in several, in order. */
export const MAX_BATCH = 512;

const onNextTurn = (flush: () => void): void => {
  setImmediate(flush);
};

interface PendingOp {
  apply: WriteOp<unknown>;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/** Batches writes into one transaction per flush; see the module comment. */
export class WriteQueue {
  #pending: PendingOp[] = [];
  #scheduled = false;
  #tx: TransactionControl;
  #schedule: (flush: () => void) => void;
  #flush = () => this.flush();

  constructor(tx: TransactionControl, schedule: (flush: () => void) => void = onNextTurn) {
    this.#tx = tx;
    this.#schedule = schedule;
  }

  /** Number of ops waiting for the next flush. */
  get size(): number {
    return this.#pending.length;
  }

  /** Queues `apply`; resolves with its value once its batch committed, or rejects with its failure. */
  enqueue<T>(apply: WriteOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#schedule(this.#flush);
      }
    });
  }

  /** Runs everything queued now, synchronously (reads call this to see their caller's writes). */
  flush(): void {
    this.#scheduled = false;
    const queued = this.#pending;
    if (queued.length === 0) return;
    this.#pending = [];
    for (let start = 0; start < queued.length; start += MAX_BATCH) {
      let ops = queued.slice(start, start + MAX_BATCH);
      while (ops.length > 0) ops = this.#commitBatch(ops);
    }
  }

  /** Applies `ops` in one transaction; returns the ops that must be replayed after an unexpected error. */
  #commitBatch(ops: PendingOp[]): PendingOp[] {
    const hooks: Array<() => void> = [];
    const scope: BatchScope = { afterCommit: (fn) => hooks.push(fn) };
    const outcomes: unknown[] = new Array(ops.length);
    try {
      this.#tx.begin();
    } catch (error) {
      for (const op of ops) op.reject(error);
      return [];
    }
    for (let i = 0; i < ops.length; i++) {
      try {
        outcomes[i] = ops[i]!.apply(scope);
      } catch (error) {
        this.#rollback();
        ops[i]!.reject(error);
        return ops.slice(0, i).concat(ops.slice(i + 1));
      }
    }
    try {
      this.#tx.commit();
    } catch (error) {
      this.#rollback();
      for (const op of ops) op.reject(error);
      return [];
    }
    for (let i = 0; i < ops.length; i++) {
      const outcome = outcomes[i];
      if (outcome instanceof OpFailure) ops[i]!.reject(outcome.error);
      else ops[i]!.resolve(outcome);
    }
    for (const hook of hooks) {
      try {
        hook();
      } catch (error) {
        // The batch is committed and settled; surface a hook's bug without skipping the other hooks.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return [];
  }

  #rollback(): void {
    // SQLite rolls back by itself after some errors (SQLITE_FULL, I/O errors); only roll back if still open.
    if (this.#tx.inTransaction()) this.#tx.rollback();
  }
}
