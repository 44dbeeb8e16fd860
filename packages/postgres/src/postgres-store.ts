import {
  type CancelOutcome,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  LocalDoorbells,
  type NewTask,
  newTaskRecord,
  type Settlement,
  type StepRecord,
  StoreConflictError,
  type TaskFilter,
  type TaskHistory,
  TaskNotFoundError,
  type TaskRecord,
  type TaskStore,
  type Unwatch,
} from "@taskwire/core/store";
import { type CreatedRow, createLimited, toCreateResult } from "./create-limited";
import type { PostgresStoreOptions } from "./postgres-store-options";
import { type EventRow, type TaskRow, toEventRecord, toTaskRecord } from "./rows";
import { type Session, startSession, stopSession } from "./session";
import {
  assertSchemaName,
  buildStatements,
  channelNames,
  type Statement,
  type Statements,
  statement,
} from "./sql";

/**
 * The multi-node `TaskStore` on PostgreSQL: `FOR UPDATE SKIP LOCKED` claims, revision-fenced writes,
 * and LISTEN/NOTIFY doorbells across processes. `open()` applies migrations (safe when many nodes start
 * at once). Needs one pooled connection per concurrent query plus one dedicated LISTEN connection.
 * @example
 * const taskflow = await createTaskflow({
 *   store: postgresStore({ connectionString: process.env.TASKWIRE_PG_URL }),
 * });
 */
export function postgresStore(options: PostgresStoreOptions): TaskStore {
  return new PostgresStore(options);
}

interface FenceRow {
  status: string;
  revision: number;
  lease_owner: string | null;
  last_seq: string;
}

class PostgresStore implements TaskStore {
  readonly kind = "postgres";
  #options: PostgresStoreOptions;
  #schema: string;
  #sql: Statements;
  #channels: { events: string; cancels: string };
  #doorbells = new LocalDoorbells();
  #session: Promise<Session> | undefined;
  /** The opened session, once `#session` resolved (for the synchronous after-commit doorbells). */
  #live: Session | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    if (!options.pool && !options.connectionString) {
      throw new TypeError("postgresStore needs a connectionString or a pool.");
    }
    this.#options = options;
    this.#schema = options.schema ?? "taskwire";
    assertSchemaName(this.#schema);
    this.#sql = buildStatements(this.#schema);
    this.#channels = channelNames(this.#schema);
  }

  async open(): Promise<void> {
    if (this.#closed) {
      // Reopening after close starts a fresh session (a new pool if the store owns it).
      await this.#closing;
      this.#closed = false;
      this.#closing = undefined;
    }
    if (!this.#session) {
      const starting = startSession({
        options: this.#options,
        schema: this.#schema,
        sql: this.#sql,
        channels: this.#channels,
        doorbells: this.#doorbells,
      });
      this.#session = starting;
      starting.then(
        (session) => {
          if (this.#session === starting) this.#live = session;
        },
        () => {
          if (this.#session === starting) this.#session = undefined;
        },
      );
    }
    await this.#session;
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#doorbells.close();
      const session = this.#session;
      this.#session = undefined;
      this.#live = undefined;
      this.#closing = session ? stopSession(session) : Promise.resolve();
    }
    return this.#closing;
  }

  async createTask(spec: NewTask): Promise<CreateTaskResult> {
    const task = newTaskRecord(spec);
    const values = [
      task.id,
      task.name,
      task.input,
      task.owner,
      task.identity,
      task.parentId,
      task.runAt,
      spec.now,
      task.status,
      task.revision,
      task.claims,
      task.leaseOwner,
      task.leaseExpiresAt,
    ];
    const idem = spec.idempotency;
    if (spec.maxActivePerOwner !== undefined) {
      const { pool } = await this.#use();
      return createLimited(pool, this.#sql, this.#schema, spec, values, spec.maxActivePerOwner);
    }
    let rows: CreatedRow[];
    if (!idem) {
      rows = await this.#query(this.#sql.createTask, values);
    } else {
      rows = await this.#query(this.#sql.createIdempotent, [
        ...values,
        idem.key,
        idem.inputHash,
        idem.expiresAt,
      ]);
      // Empty only when a concurrent start committed the key after this statement's snapshot.
      if (rows.length === 0) {
        const again = [spec.owner, spec.name, idem.key, idem.inputHash, spec.now];
        rows = await this.#query(this.#sql.readIdempotent, again);
      }
    }
    return toCreateResult(rows[0], spec);
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const [row] = await this.#query<TaskRow>(this.#sql.getTask, [taskId]);
    return row && toTaskRecord(row);
  }

  async listTasks(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (value: unknown, condition: (param: string) => string) => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (filter.owner !== undefined) add(filter.owner, (p) => `owner = ${p}::text`);
    if (filter.name !== undefined) add(filter.name, (p) => `name = ${p}::text`);
    if (filter.parentId !== undefined) add(filter.parentId, (p) => `parent_id = ${p}::text`);
    if (filter.status !== undefined) add([filter.status].flat(), (p) => `status = ANY(${p}::text[])`);
    if (filter.createdBefore !== undefined) add(filter.createdBefore, (p) => `created_at < ${p}::bigint`);
    values.push(count(filter.limit ?? 100));
    const text = `${this.#sql.listTasks}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, id DESC LIMIT $${values.length}::bigint`;
    return (await this.#query<TaskRow>(statement(text), values)).map(toTaskRecord);
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    const limit = count(request.limit);
    if (request.names.length === 0 || limit === 0) {
      await this.#use();
      return [];
    }
    const values = [request.names, request.workerId, request.now, request.leaseMs, limit];
    const rows = await this.#query<TaskRow>(this.#sql.claimTasks, values);
    // RETURNING has no order: restore the claim order (oldest runAt, then creation order).
    rows.sort((a, b) => Number(a.run_at) - Number(b.run_at) || Number(a.ordinal) - Number(b.ordinal));
    return rows.map((row) => {
      const task = toTaskRecord(row);
      return { task, lease: { taskId: task.id, workerId: request.workerId, revision: task.revision } };
    });
  }

  async renewLease(lease: Lease, now: number, leaseMs: number): Promise<LeaseState> {
    const values = [lease.taskId, lease.revision, lease.workerId, now, leaseMs];
    const [row] = await this.#query<{ held: boolean; cancel_requested: boolean }>(
      this.#sql.renewLease,
      values,
    );
    return { held: row?.held ?? false, cancelRequested: row?.cancel_requested ?? false };
  }

  async loadHistory(taskId: string): Promise<TaskHistory> {
    const [row] = await this.#query<{ steps: StepRecord[]; event_names: string[] }>(this.#sql.loadHistory, [
      taskId,
    ]);
    return { steps: row?.steps ?? [], eventNames: row?.event_names ?? [] };
  }

  async appendStep(lease: Lease, step: StepRecord): Promise<void> {
    const values = [lease.taskId, lease.revision, lease.workerId, step.position, step.key, step.output];
    const recorded = () => `step #${step.position} is already recorded`;
    try {
      if ((await this.#execute(this.#sql.appendStep, [...values, step.emits, step.at])) === 1) return;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    await this.#explain(lease, recorded);
  }

  async appendEvent(lease: Lease, event: EventRecord): Promise<void> {
    const reason = (lastSeq: number) => `event seq ${event.seq} is not the next seq ${lastSeq + 1}`;
    if (!Number.isSafeInteger(event.seq)) return this.#explain(lease, reason);
    const values = [
      lease.taskId,
      lease.revision,
      lease.workerId,
      event.seq,
      event.name,
      event.data,
      event.at,
    ];
    if ((await this.#execute(this.#sql.appendEvent, values)) !== 1) return this.#explain(lease, reason);
    this.#committed("events", lease.taskId);
  }

  async settleTask(lease: Lease, settlement: Settlement, now: number): Promise<void> {
    const s = settlement;
    const values = [
      lease.taskId,
      lease.revision,
      lease.workerId,
      now,
      s.status,
      s.status === "completed" ? s.result : null,
      s.status === "failed" || s.status === "retrying" ? JSON.stringify(s.error) : null,
      s.status === "retrying" || s.status === "queued" ? s.runAt : null,
      "event" in s ? s.event : null,
    ];
    const [row] = await this.#query<TaskRow>(this.#sql.settleTask, values);
    if (!row) return this.#explain(lease, () => "the task changed concurrently");
    // Only terminal settlements append an event (the terminal one) in the same statement.
    if (isTerminalStatus(row.status)) this.#committed("events", lease.taskId);
  }

  async requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome> {
    const [row] = await this.#query<{ before: TaskRow; after: TaskRow | null }>(this.#sql.requestCancel, [
      taskId,
      now,
      event,
    ]);
    if (!row) throw new TaskNotFoundError(taskId);
    const { before, after } = row;
    if (isTerminalStatus(before.status) || !after) {
      return { task: toTaskRecord(before), outcome: "already_finished" };
    }
    if (before.status !== "running") {
      this.#committed("events", taskId); // the terminal `cancelled` event was appended
      return { task: toTaskRecord(after), outcome: "cancelled" };
    }
    // Only the first request on a running task rings cancel watchers; a repeat is not a new cancel.
    if (before.cancel_requested_at !== null)
      return { task: toTaskRecord(after), outcome: "already_requested" };
    this.#committed("cancels", taskId);
    return { task: toTaskRecord(after), outcome: "requested" };
  }

  async readEvents(taskId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    const after = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(afterSeq) || 0));
    const rows = await this.#query<EventRow>(this.#sql.readEvents, [taskId, after, count(limit)]);
    return rows.map(toEventRecord);
  }

  watchEvents(taskId: string, onChange: () => void): Unwatch {
    return this.#doorbells.watchEvents(taskId, onChange);
  }

  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    return this.#doorbells.watchCancels(onCancel);
  }

  /**
   * Rings after a committed write: this store's own watchers directly (the fast path: a later tick, in
   * each watcher's async context, without waiting for PostgreSQL), and every other store, on any node,
   * through the coalesced after-commit NOTIFY (which this store's own listener recognises and skips).
   */
  #committed(kind: "events" | "cancels", taskId: string): void {
    if (kind === "events") this.#doorbells.ringEvents(taskId);
    else this.#doorbells.cancelRequested(taskId);
    this.#live?.notifier.add(this.#channels[kind], taskId);
  }

  /** The session, opening it on first use; rejects once closed. */
  #use(): Promise<Session> {
    if (this.#closed) return Promise.reject(new Error(`postgresStore (${this.#schema}) is closed.`));
    if (!this.#session) return this.open().then(() => this.#use());
    return this.#session;
  }

  async #query<TRow extends object>(sql: Statement, values: unknown[]): Promise<TRow[]> {
    const { pool } = await this.#use();
    const result = await pool.query<TRow>({ name: sql.name, text: sql.text, values });
    return result.rows;
  }

  /** Runs a statement and returns how many rows it wrote. */
  async #execute(sql: Statement, values: unknown[]): Promise<number> {
    const { pool } = await this.#use();
    return (await pool.query({ name: sql.name, text: sql.text, values })).rowCount ?? 0;
  }

  /** Explains a fenced write that matched nothing (only ever on the failure path). */
  async #explain(lease: Lease, reason: (lastSeq: number) => string): Promise<never> {
    const [row] = await this.#query<FenceRow>(this.#sql.fenceState, [lease.taskId]);
    if (!row) throw new TaskNotFoundError(lease.taskId);
    const held =
      row.status === "running" && row.revision === lease.revision && row.lease_owner === lease.workerId;
    throw new StoreConflictError(
      lease.taskId,
      held ? reason(Number(row.last_seq)) : "the lease is no longer held",
    );
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === "23505";
}

/** A non-negative integer row count, as LIMIT wants it. */
function count(limit: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(limit) || 0));
}
