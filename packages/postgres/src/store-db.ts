import { type Lease, type LocalDoorbells, StoreConflictError } from "@taskwire/core/store";
import type { Session } from "./session";
import type { Doorbell, Statements } from "./sql";
import type { Statement } from "./sql-kit";
import { inTransaction, type Run } from "./transaction";

/** The task state a failed fenced write is explained from. */
export interface FenceState {
  lastSeq: number;
  emits: number;
  cancelRequested: boolean;
}

/** What a {@link StoreDb} runs on. */
export interface StoreDbSpec {
  sql: Statements;
  /** The opened session (opening it on first use); rejects once the store is closed. */
  use: () => Promise<Session>;
  /** The opened session if there is one (for the synchronous after-commit doorbells). */
  live: () => Session | undefined;
  channels: Record<Doorbell, string>;
  doorbells: LocalDoorbells;
}

/**
 * The query side of one store: named statements on the pool, transactions, the after-commit doorbells,
 * and the explanation of a fenced write that matched nothing. Shared by the store and its flow operations.
 */
export class StoreDb {
  readonly sql: Statements;
  #spec: StoreDbSpec;

  constructor(spec: StoreDbSpec) {
    this.sql = spec.sql;
    this.#spec = spec;
  }

  /** Runs a statement and resolves to its rows. */
  async query<TRow extends object>(sql: Statement, values: unknown[]): Promise<TRow[]> {
    const { pool } = await this.#spec.use();
    const result = await pool.query<TRow>({ name: sql.name, text: sql.text, values });
    return result.rows;
  }

  /** Runs a statement and returns how many rows it wrote. */
  async execute(sql: Statement, values: unknown[]): Promise<number> {
    const { pool } = await this.#spec.use();
    return (await pool.query({ name: sql.name, text: sql.text, values })).rowCount ?? 0;
  }

  /** Runs `body` in one transaction (see `inTransaction`). */
  async transaction<T>(body: (run: Run) => Promise<T>): Promise<T> {
    const { pool } = await this.#spec.use();
    return inTransaction(pool, body);
  }

  /**
   * Rings after a committed write: this store's own watchers directly (the fast path: a later tick, in
   * each watcher's async context, without waiting for PostgreSQL), and every other store, on any node,
   * through the coalesced after-commit NOTIFY (which this store's own listener recognises and skips).
   */
  committed(kind: Doorbell, taskId: string): void {
    const bells = this.#spec.doorbells;
    if (kind === "events") bells.ringEvents(taskId);
    else if (kind === "cancels") bells.cancelRequested(taskId);
    else bells.ringWork();
    this.#spec.live()?.notifier.add(this.#spec.channels[kind], taskId);
  }

  /**
   * After the commit of a statement that ended `taskId` (see `finishTask` in terminal-sql.ts): its
   * terminal event, and its parent's `child` event and wake-up.
   */
  finished(taskId: string, parent: { parent_id: string | null; woken: boolean }): void {
    this.committed("events", taskId);
    if (parent.parent_id === null) return;
    this.committed("events", parent.parent_id);
    if (parent.woken) this.committed("work", parent.parent_id);
  }

  /**
   * Explains a fenced write that matched nothing (only ever on the failure path): a lost lease (the task
   * reclaimed, settled, or deleted by retention or erasure) or — the lease still held — `reason(state)`,
   * which returns the error to throw.
   */
  async explain(lease: Lease, reason: (state: FenceState) => Error | Promise<Error>): Promise<never> {
    const [row] = await this.query<FenceRow>(this.sql.fenceState, [lease.taskId]);
    if (!row) throw new StoreConflictError(lease.taskId, "the task no longer exists");
    const held =
      row.status === "running" && row.revision === lease.revision && row.lease_owner === lease.workerId;
    if (!held) throw new StoreConflictError(lease.taskId, "the lease is no longer held");
    throw await reason({
      lastSeq: Number(row.last_seq),
      emits: Number(row.emits),
      cancelRequested: row.cancel_requested_at !== null,
    });
  }
}

interface FenceRow {
  status: string;
  revision: number;
  lease_owner: string | null;
  last_seq: string;
  emits: number;
  cancel_requested_at: string | null;
}

/** Whether `error` is PostgreSQL's unique violation, on `constraint` when given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof Error)) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === "23505" && (constraint === undefined || violated === constraint);
}
