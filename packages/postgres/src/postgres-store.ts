import {
  type CancelOutcome,
  type ChildSpawn,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  hasRunningLimits,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  LocalDoorbells,
  type NewEvent,
  type NewSignal,
  type NewTask,
  type PurgeRequest,
  type Settlement,
  type SignalDelivery,
  type StepRecord,
  StoreConflictError,
  type TaskFilter,
  type TaskHistory,
  TaskNotFoundError,
  type TaskRecord,
  type TaskStore,
  type Unwatch,
} from "@taskwire/core/store";
import { createTask } from "./create-task";
import { deliverSignal, readSignal, retryTask, settleWaiting, spawnChild } from "./flows";
import { claimLimited } from "./limited-claim";
import { listTasksQuery } from "./list-tasks";
import type { PostgresStoreOptions } from "./postgres-store-options";
import { deleteTasksOfOwner, purgeTasks } from "./retention";
import { type EventRow, type TaskRow, toEventRecord, toTaskRecord } from "./rows";
import { type Session, startSession, stopSession } from "./session";
import { assertSchemaName, buildStatements, channelNames, type Doorbell, type Statements } from "./sql";
import { type Statement, statement } from "./sql-kit";
import { StepBatcher } from "./step-batcher";
import { StoreDb } from "./store-db";

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

/** What `settleTask` and `requestCancel` return about the parent they notified (see terminal-sql.ts). */
interface ParentRow {
  parent_id: string | null;
  woken: boolean;
}

class PostgresStore implements TaskStore {
  readonly kind = "postgres";
  #options: PostgresStoreOptions;
  #schema: string;
  #sql: Statements;
  #channels: Record<Doorbell, string>;
  #doorbells = new LocalDoorbells();
  #db: StoreDb;
  #steps: StepBatcher;
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
    this.#db = new StoreDb({
      sql: this.#sql,
      use: () => this.#use(),
      live: () => this.#live,
      channels: this.#channels,
      doorbells: this.#doorbells,
    });
    this.#steps = new StepBatcher(this.#db);
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

  createTask(spec: NewTask): Promise<CreateTaskResult> {
    return createTask(this.#db, this.#schema, spec);
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const [row] = await this.#query<TaskRow>(this.#sql.getTask, [taskId]);
    return row && toTaskRecord(row);
  }

  async listTasks(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    const { text, values } = listTasksQuery(this.#sql.listTasks, filter, count(filter.limit ?? 100));
    return (await this.#query<TaskRow>(statement(text), values)).map(toTaskRecord);
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    const limit = count(request.limit);
    if (request.names.length === 0 || limit === 0) {
      await this.#use();
      return [];
    }
    if (hasRunningLimits(request.running))
      return claimLimited(this.#db, this.#schema, request, request.running, limit);
    const values = [request.names, request.workerId, request.now, request.leaseMs, limit];
    const rows = await this.#query<TaskRow & { reclaimed: boolean }>(this.#sql.claimTasks, values);
    // RETURNING has no order: restore the claim order (priority desc, fair turn, oldest runAt, creation).
    rows.sort(
      (a, b) =>
        Number(b.priority) - Number(a.priority) ||
        Number(a.fair_seq) - Number(b.fair_seq) ||
        Number(a.run_at) - Number(b.run_at) ||
        Number(a.ordinal) - Number(b.ordinal),
    );
    return rows.map((row) => {
      const task = toTaskRecord(row);
      const lease = { taskId: task.id, workerId: request.workerId, revision: task.revision };
      return { task, lease, reclaimed: row.reclaimed };
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

  appendStep(lease: Lease, step: StepRecord): Promise<void> {
    return this.#steps.append(lease, step);
  }

  async appendEvent(lease: Lease, event: NewEvent): Promise<number> {
    const { position } = event;
    const reason = ({ emits }: { emits: number }) =>
      new StoreConflictError(lease.taskId, `emit position ${position} is not the next one ${emits}`);
    if (!Number.isInteger(position) || position < 0 || position > 2_147_483_647)
      return this.#db.explain(lease, reason);
    const values = [lease.taskId, lease.revision, lease.workerId, position, event.name, event.data, event.at];
    const [row] = await this.#query<{ seq: string }>(this.#sql.appendEvent, values);
    if (!row) return this.#db.explain(lease, reason);
    this.#db.committed("events", lease.taskId);
    return Number(row.seq);
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
      "runAt" in s ? s.runAt : null,
      "event" in s ? s.event : null,
    ];
    if (s.status === "waiting") return settleWaiting(this.#db, lease, values, s.wakeOn, now);
    const [row] = await this.#query<ParentRow & { status: string }>(this.#sql.settleTask, values);
    if (!row) {
      return this.#db.explain(
        lease,
        () => new StoreConflictError(lease.taskId, "the task changed concurrently"),
      );
    }
    // Only terminal settlements append events (the terminal one, and the parent's `child` event).
    if (isTerminalStatus(row.status)) this.#db.finished(lease.taskId, row);
  }

  async requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome> {
    const [row] = await this.#query<ParentRow & { before: TaskRow; after: TaskRow | null }>(
      this.#sql.requestCancel,
      [taskId, now, event],
    );
    if (!row) throw new TaskNotFoundError(taskId);
    const { before, after } = row;
    if (isTerminalStatus(before.status) || !after) {
      return { task: toTaskRecord(before), outcome: "already_finished" };
    }
    if (after.status === "cancelled") {
      this.#db.finished(taskId, row);
      return { task: toTaskRecord(after), outcome: "cancelled" };
    }
    // Not running, with active children: queued at once, so a worker cancels them and settles it later.
    if (before.status !== "running") this.#db.committed("work", taskId);
    // Only the first request rings cancel watchers; a repeat is not a new cancel.
    const first = before.cancel_requested_at === null;
    if (first) this.#db.committed("cancels", taskId);
    return { task: toTaskRecord(after), outcome: first ? "requested" : "already_requested" };
  }

  spawnChild(lease: Lease, spawn: ChildSpawn): Promise<void> {
    return spawnChild(this.#db, lease, spawn);
  }

  deliverSignal(signal: NewSignal): Promise<SignalDelivery> {
    return deliverSignal(this.#db, signal);
  }

  readSignal(taskId: string, name: string, index: number): Promise<string | undefined> {
    return readSignal(this.#db, taskId, name, index);
  }

  retryTask(taskId: string, now: number): Promise<TaskRecord> {
    return retryTask(this.#db, taskId, now);
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

  watchWork(onWork: () => void): Unwatch {
    return this.#doorbells.watchWork(onWork);
  }

  purgeTasks(request: PurgeRequest): Promise<number> {
    return purgeTasks(this.#db, this.#schema, { ...request, limit: count(request.limit) });
  }

  deleteTasksOfOwner(owner: string, limit: number): Promise<number> {
    return deleteTasksOfOwner(this.#db, owner, count(limit));
  }

  /** The session, opening it on first use; rejects once closed. */
  #use(): Promise<Session> {
    if (this.#closed) return Promise.reject(new Error(`postgresStore (${this.#schema}) is closed.`));
    if (!this.#session) return this.open().then(() => this.#use());
    return this.#session;
  }

  #query<TRow extends object>(sql: Statement, values: unknown[]): Promise<TRow[]> {
    return this.#db.query<TRow>(sql, values);
  }
}

/** A non-negative integer row count, as LIMIT wants it. */
function count(limit: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(limit) || 0));
}
