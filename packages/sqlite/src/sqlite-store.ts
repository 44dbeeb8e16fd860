import type {
  CancelOutcome,
  ChildSpawn,
  ClaimedTask,
  ClaimRequest,
  CreateTaskResult,
  EventRecord,
  Lease,
  LeaseState,
  NewEvent,
  NewSignal,
  NewTask,
  PurgeRequest,
  Settlement,
  SignalDelivery,
  StepRecord,
  TaskFilter,
  TaskHistory,
  TaskRecord,
  TaskStore,
  Unwatch,
} from "@taskwire/core/store";
import type Database from "better-sqlite3";
import { type Connection, openConnection } from "./connection";
import { Doorbells } from "./doorbells";
import { deliverSignalOp, requestCancelOp, retryTaskOp, spawnChildOp } from "./flow-writes";
import { ListTasksQuery } from "./list-tasks";
import { applyMigrations } from "./migrations";
import { deleteTasksOfOwnerOp, purgeTasksOp } from "./retention";
import { toTaskRecord } from "./rows";
import { prepareStatements, type Statements } from "./statements";
import {
  appendEventOp,
  appendStepOp,
  claimTasksOp,
  createTaskOp,
  renewLeaseOp,
  settleTaskOp,
} from "./task-writes";
import { type WriteOp, WriteQueue } from "./write-queue";

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Database file; a missing directory is created owner-only (0700), and a file or directory that is a
   * symbolic link is refused. `":memory:"` gives a private in-memory database.
   * @default ".taskwire/tasks.db"
   */
  path?: string;
  /**
   * SQLite `synchronous` level in WAL mode. `NORMAL` survives process crashes (a power loss may roll back
   * the last commits, never corrupt); `FULL` also survives power loss, at one fsync per commit.
   * @default "NORMAL"
   */
  synchronous?: "NORMAL" | "FULL";
  /**
   * How often watchers check for commits made by other processes (`PRAGMA data_version`).
   * @default 100
   */
  pollIntervalMs?: number;
  /**
   * How long a write waits for another process's write lock before failing.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /** Use this open connection instead of opening `path`. The store configures it but never closes it. */
  database?: Database.Database;
}

/** Default database file, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = ".taskwire/tasks.db";

/**
 * The embedded `TaskStore`: one SQLite file in WAL mode, safe for several processes on one machine.
 * Concurrent writes are group-committed: one transaction per burst, each call settled on its own.
 * @example
 * const taskflow = await createTaskflow({ store: sqliteStore({ path: "data/tasks.db" }) });
 */
export function sqliteStore(options: SqliteStoreOptions = {}): TaskStore {
  return new SqliteStore(options);
}

interface OpenState {
  conn: Connection;
  stmts: Statements;
  queue: WriteQueue;
  list: ListTasksQuery;
  readHistory: (taskId: string) => TaskHistory;
}

class SqliteStore implements TaskStore {
  readonly kind = "sqlite";
  #options: SqliteStoreOptions;
  #bells: Doorbells;
  #state: OpenState | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.#options = options;
    this.#bells = new Doorbells(options.pollIntervalMs ?? 100);
  }

  async open(): Promise<void> {
    this.#closed = false;
    this.#connect();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true; // from here on new calls reject; writes already queued still commit below
    const state = this.#state;
    this.#state = undefined;
    state?.queue.flush();
    this.#bells.close();
    if (state?.conn.owned) state.conn.db.close();
  }

  createTask(task: NewTask): Promise<CreateTaskResult> {
    return this.#write((s) => createTaskOp(s, task));
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const row = this.#read().stmts.getTask.get(taskId);
    return row ? toTaskRecord(row) : undefined;
  }

  async listTasks(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    return this.#read().list.run(filter).map(toTaskRecord);
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    if (request.names.length === 0 || request.limit <= 0) {
      this.#connect();
      return [];
    }
    return this.#write((s) => claimTasksOp(s, request));
  }

  renewLease(lease: Lease, now: number, leaseMs: number): Promise<LeaseState> {
    return this.#write((s) => renewLeaseOp(s, lease, now, leaseMs));
  }

  async loadHistory(taskId: string): Promise<TaskHistory> {
    return this.#read().readHistory(taskId);
  }

  appendStep(lease: Lease, step: StepRecord): Promise<void> {
    return this.#write((s) => appendStepOp(s, lease, step));
  }

  appendEvent(lease: Lease, event: NewEvent): Promise<number> {
    return this.#write((s) => appendEventOp(s, this.#bells, lease, event));
  }

  settleTask(lease: Lease, settlement: Settlement, now: number): Promise<void> {
    return this.#write((s) => settleTaskOp(s, this.#bells, lease, settlement, now));
  }

  requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome> {
    return this.#write((s) => requestCancelOp(s, this.#bells, taskId, now, event));
  }

  spawnChild(lease: Lease, spawn: ChildSpawn): Promise<void> {
    return this.#write((s) => spawnChildOp(s, this.#bells, lease, spawn));
  }

  deliverSignal(signal: NewSignal): Promise<SignalDelivery> {
    return this.#write((s) => deliverSignalOp(s, this.#bells, signal));
  }

  async readSignal(taskId: string, name: string, index: number): Promise<string | undefined> {
    return this.#read().stmts.signalAt.get(taskId, name, index);
  }

  retryTask(taskId: string, now: number): Promise<TaskRecord> {
    return this.#write((s) => retryTaskOp(s, this.#bells, taskId, now));
  }

  async readEvents(taskId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    return this.#read().stmts.readEvents.all(taskId, afterSeq, Math.max(0, limit));
  }

  watchEvents(taskId: string, onChange: () => void): Unwatch {
    return this.#bells.watchEvents(taskId, onChange);
  }

  watchCancels(onCancel: (taskId: string) => void): Unwatch {
    return this.#bells.watchCancels(onCancel);
  }

  watchWork(onWork: () => void): Unwatch {
    return this.#bells.watchWork(onWork);
  }

  purgeTasks(request: PurgeRequest): Promise<number> {
    return this.#write((s) => purgeTasksOp(s, request));
  }

  deleteTasksOfOwner(owner: string, limit: number): Promise<number> {
    return this.#write((s) => deleteTasksOfOwnerOp(s, owner, limit));
  }

  /** Queues a write for the next group commit. */
  #write<T>(makeOp: (s: Statements) => WriteOp<T>): Promise<T> {
    try {
      const state = this.#connect();
      return state.queue.enqueue(makeOp(state.stmts));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Commits queued writes first, so a read always sees the writes its caller issued before it. */
  #read(): OpenState {
    const state = this.#connect();
    state.queue.flush();
    return state;
  }

  /** The open connection; opened on first use (applying migrations) unless the store was closed. */
  #connect(): OpenState {
    if (this.#closed) throw new Error("sqliteStore is closed");
    if (this.#state) return this.#state;
    const options = this.#options;
    const conn = openConnection({
      path: options.path ?? DEFAULT_SQLITE_PATH,
      synchronous: options.synchronous ?? "NORMAL",
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      database: options.database,
    });
    try {
      applyMigrations(conn.db);
    } catch (error) {
      if (conn.owned) conn.db.close();
      throw error;
    }
    const stmts = prepareStatements(conn.db);
    const queue = new WriteQueue({
      begin: () => stmts.begin.run(),
      commit: () => stmts.commit.run(),
      rollback: () => stmts.rollback.run(),
      inTransaction: () => conn.db.inTransaction,
    });
    // Deferred read transaction: steps and event names come from one snapshot.
    const readHistory = conn.db.transaction(
      (taskId: string): TaskHistory => ({
        steps: stmts.loadSteps.all(taskId),
        eventNames: stmts.loadEventNames.all(taskId),
      }),
    );
    this.#state = { conn, stmts, queue, list: new ListTasksQuery(conn.db), readHistory };
    this.#bells.attach({
      dataVersion: () => stmts.dataVersion.get() as number,
      pendingCancels: () => stmts.pendingCancels.all(),
    });
    return this.#state;
  }
}
