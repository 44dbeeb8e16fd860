import { NotResumableError, TaskFinishedError } from "../errors/flow-errors";
import { CancelledError, StoreConflictError, TaskNotFoundError } from "../errors/taskwire-error";
import { childEventData } from "./child-event";
import { LocalDoorbells } from "./local-doorbells";
import { claimCandidates, FairTurns } from "./memory-claim-order";
import { DebounceWindows } from "./memory-debounce";
import { checkStartLimits } from "./memory-limits";
import { listSelection } from "./memory-list";
import { ownerSelection, purgeSelection } from "./memory-retention";
import { SignalLog } from "./memory-signals";
import { newTaskRecord } from "./new-task-record";
import type { TokenBucket } from "./start-rate";
import {
  ACTIVE_STATUSES,
  type CancelOutcome,
  CHILD_EVENT,
  type ChildSpawn,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  isEmittedEventName,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type NewEvent,
  type NewSignal,
  type NewTask,
  type PurgeRequest,
  type Settlement,
  type SignalDelivery,
  type StepRecord,
  type TaskFilter,
  type TaskHistory,
  type TaskRecord,
  type TaskStore,
  type TerminalEventName,
  type Unwatch,
  type WakeOn,
} from "./task-store";

interface IdempotencyEntry {
  taskId: string;
  inputHash: string;
  expiresAt: number;
}

/**
 * An in-process `TaskStore` for tests and prototypes. Nothing survives the process; every guarantee of
 * the interface holds within it. The reference implementation for the conformance suite.
 * @example const taskflow = await createTaskflow({ store: memoryStore() });
 */
export function memoryStore(): TaskStore {
  return new MemoryStore();
}

class MemoryStore implements TaskStore {
  readonly kind = "memory";
  #tasks = new Map<string, TaskRecord>();
  #steps = new Map<string, Map<number, StepRecord>>();
  #events = new Map<string, EventRecord[]>();
  #idempotency = new Map<string, IdempotencyEntry>();
  #signals = new SignalLog();
  #buckets = new Map<string, TokenBucket>();
  #bells = new LocalDoorbells();
  #turns = new FairTurns();
  #debounce = new DebounceWindows();
  #closed = false;

  async open(): Promise<void> {
    this.#closed = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#bells.close();
  }

  async createTask(spec: NewTask): Promise<CreateTaskResult> {
    this.#check();
    if (spec.debounce) {
      // Folded before any limit: a start that creates nothing is never refused and takes no token.
      const folded = this.#debounce.fold({ ...spec, debounce: spec.debounce }, this.#tasks);
      if (folded) return { created: false, task: { ...folded }, conflict: false, debounced: true };
      spec = { ...spec, idempotency: undefined };
    }
    if (spec.idempotency) {
      const key = JSON.stringify([spec.owner, spec.name, spec.idempotency.key]);
      const existing = this.#idempotency.get(key);
      const prior = existing && existing.expiresAt > spec.now ? this.#tasks.get(existing.taskId) : undefined;
      if (existing && prior) {
        return {
          created: false,
          task: { ...prior },
          conflict: existing.inputHash !== spec.idempotency.inputHash,
        };
      }
    }
    // Decided before anything is written; the bucket is stored only once every limit has admitted.
    const limits = checkStartLimits(spec, this.#tasks.values(), this.#buckets.get(spec.owner));
    if ("limited" in limits) return limits;
    const { take } = limits;
    if (take) this.#buckets.set(spec.owner, take.bucket);
    if (spec.idempotency) {
      this.#idempotency.set(JSON.stringify([spec.owner, spec.name, spec.idempotency.key]), {
        taskId: spec.id,
        inputHash: spec.idempotency.inputHash,
        expiresAt: spec.idempotency.expiresAt,
      });
    }
    const task = newTaskRecord(spec);
    this.#turns.assign(task, this.#tasks.values());
    this.#tasks.set(task.id, task);
    this.#steps.set(task.id, new Map());
    this.#events.set(task.id, []);
    if (spec.debounce) this.#debounce.open({ ...spec, debounce: spec.debounce });
    if (task.leaseOwner === null) return { created: true, task: { ...task } };
    const lease = { taskId: task.id, workerId: task.leaseOwner, revision: task.revision };
    return { created: true, task: { ...task }, lease };
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    this.#check();
    const task = this.#tasks.get(taskId);
    return task ? { ...task } : undefined;
  }

  async listTasks(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    this.#check();
    return listSelection(this.#tasks.values(), filter);
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    this.#check();
    const ready = claimCandidates(this.#tasks.values(), request, this.#turns.compare);
    return ready.map((task) => {
      const reclaimed = task.status === "running";
      const lease = this.#claim(task, request.workerId, request.now, request.leaseMs);
      return { task: { ...task }, lease, reclaimed };
    });
  }

  async renewLease(lease: Lease, now: number, leaseMs: number): Promise<LeaseState> {
    this.#check();
    const task = this.#tasks.get(lease.taskId);
    if (!task || !this.#holds(task, lease))
      return { held: false, cancelRequested: task?.cancelRequestedAt != null };
    task.leaseExpiresAt = now + leaseMs;
    return { held: true, cancelRequested: task.cancelRequestedAt !== null };
  }

  async loadHistory(taskId: string): Promise<TaskHistory> {
    this.#check();
    const steps = [...(this.#steps.get(taskId)?.values() ?? [])].sort((a, b) => a.position - b.position);
    const eventNames: string[] = [];
    for (const e of this.#events.get(taskId) ?? []) if (isEmittedEventName(e.name)) eventNames.push(e.name);
    return { steps: steps.map((s) => ({ ...s })), eventNames };
  }

  async appendStep(lease: Lease, step: StepRecord): Promise<void> {
    this.#check();
    const task = this.#fenced(lease);
    const steps = this.#steps.get(task.id)!;
    if (steps.has(step.position))
      throw new StoreConflictError(task.id, `step #${step.position} is already recorded`);
    steps.set(step.position, { ...step });
  }

  async appendEvent(lease: Lease, event: NewEvent): Promise<number> {
    this.#check();
    const task = this.#fenced(lease);
    if (event.position !== task.emits) {
      throw new StoreConflictError(
        task.id,
        `emit position ${event.position} is not the next one ${task.emits}`,
      );
    }
    task.emits += 1;
    return this.#append(task, event.name, event.data, event.at);
  }

  async settleTask(lease: Lease, settlement: Settlement, now: number): Promise<void> {
    this.#check();
    const task = this.#fenced(lease);
    task.revision += 1;
    task.updatedAt = now;
    task.leaseOwner = null;
    task.leaseExpiresAt = null;
    switch (settlement.status) {
      case "completed":
        task.result = settlement.result;
        this.#terminal(task, "completed", settlement.event, now);
        break;
      case "failed":
        task.error = settlement.error;
        this.#terminal(task, "failed", settlement.event, now);
        break;
      case "cancelled":
        this.#terminal(task, "cancelled", settlement.event, now);
        break;
      case "retrying":
        task.status = "retrying";
        task.error = settlement.error;
        task.attempt += 1;
        task.runAt = settlement.runAt;
        break;
      case "queued":
        task.status = "queued";
        task.runAt = settlement.runAt;
        break;
      case "waiting":
        task.status = "waiting";
        task.runAt = settlement.runAt;
        // A wake-up that raced the settlement (a child settled, a signal came) is not lost.
        if (this.#wakeDue(task, settlement.wakeOn)) this.#wake(task, now);
        break;
    }
  }

  async requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome> {
    this.#check();
    const task = this.#tasks.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (isTerminalStatus(task.status)) return { task: { ...task }, outcome: "already_finished" };
    const first = task.cancelRequestedAt === null;
    if (first) task.cancelRequestedAt = now;
    task.updatedAt = now;
    if (task.status !== "running") {
      task.revision += 1;
      if (!this.#hasActiveChildren(task.id)) {
        this.#terminal(task, "cancelled", event, now);
        return { task: { ...task }, outcome: "cancelled" };
      }
      // Its children must be cancelled first: a worker claims it now, cancels them and settles it later.
      this.#wake(task, now);
    }
    if (first) this.#bells.cancelRequested(taskId);
    return { task: { ...task }, outcome: first ? "requested" : "already_requested" };
  }

  async spawnChild(lease: Lease, spawn: ChildSpawn): Promise<void> {
    this.#check();
    const parent = this.#fenced(lease);
    if (this.#steps.get(parent.id)!.has(spawn.step.position))
      throw new StoreConflictError(parent.id, `step #${spawn.step.position} is already recorded`);
    if (parent.cancelRequestedAt !== null) throw new CancelledError(parent.id);
    this.#steps.get(parent.id)!.set(spawn.step.position, { ...spawn.step });
    const { id, name, input, runAt, priority } = spawn.child;
    const child = newTaskRecord({
      id,
      name,
      input,
      runAt,
      priority,
      owner: parent.owner,
      identity: parent.identity,
      parentId: parent.id,
      now: spawn.now,
    });
    this.#turns.assign(child, this.#tasks.values());
    this.#tasks.set(id, child);
    this.#steps.set(id, new Map());
    this.#events.set(id, []);
    this.#append(parent, CHILD_EVENT, spawn.event, spawn.now);
    this.#bells.ringWork();
  }

  async deliverSignal(signal: NewSignal): Promise<SignalDelivery> {
    this.#check();
    const task = this.#tasks.get(signal.taskId);
    if (!task) throw new TaskNotFoundError(signal.taskId);
    const prior = this.#signals.duplicateOf(signal);
    if (prior !== undefined) return { task: { ...task }, index: prior, duplicate: true };
    if (isTerminalStatus(task.status)) throw new TaskFinishedError(task.id, task.status);
    const index = this.#signals.append(signal);
    task.updatedAt = signal.now;
    if (task.status === "waiting") {
      task.revision += 1;
      this.#wake(task, signal.now);
    }
    return { task: { ...task }, index, duplicate: false };
  }

  async readSignal(taskId: string, name: string, index: number): Promise<string | undefined> {
    this.#check();
    return this.#signals.read(taskId, name, index);
  }

  async retryTask(taskId: string, now: number): Promise<TaskRecord> {
    this.#check();
    const task = this.#tasks.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (task.status !== "failed") throw new NotResumableError(taskId, task.status);
    task.status = "queued";
    task.revision += 1;
    task.attempt += 1;
    task.runAt = now;
    task.updatedAt = now;
    this.#bells.ringWork();
    return { ...task };
  }

  async readEvents(taskId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    this.#check();
    const events = this.#events.get(taskId) ?? [];
    // seq n lives at index n - 1: slice instead of scanning.
    return events.slice(Math.max(0, afterSeq), Math.max(0, afterSeq) + limit).map((e) => ({ ...e }));
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

  async purgeTasks(request: PurgeRequest): Promise<number> {
    this.#check();
    return this.#forget(purgeSelection(this.#tasks.values(), request));
  }

  async deleteTasksOfOwner(owner: string, limit: number): Promise<number> {
    this.#check();
    this.#buckets.delete(owner);
    return this.#forget(ownerSelection(this.#tasks.values(), owner, limit));
  }

  /** Deletes tasks with their checkpoints, events, signals, idempotency keys and debounce windows; returns how many. */
  #forget(ids: readonly string[]): number {
    if (ids.length === 0) return 0;
    const doomed = new Set(ids);
    for (const id of doomed) {
      this.#tasks.delete(id);
      this.#steps.delete(id);
      this.#events.delete(id);
      this.#signals.delete(id);
      this.#turns.delete(id);
    }
    for (const [key, entry] of this.#idempotency) if (doomed.has(entry.taskId)) this.#idempotency.delete(key);
    this.#debounce.forget(doomed);
    return doomed.size;
  }

  /** Appends a WAL event at the next seq and rings the task's watchers. */
  #append(task: TaskRecord, name: string, data: string, at: number): number {
    task.lastSeq += 1;
    this.#events.get(task.id)!.push({ seq: task.lastSeq, name, data, at });
    this.#bells.ringEvents(task.id);
    return task.lastSeq;
  }

  /** Makes a waiting (or cancel-pending) task claimable now and tells the workers. */
  #wake(task: TaskRecord, now: number): void {
    task.status = "queued";
    task.runAt = now;
    task.updatedAt = now;
    this.#bells.ringWork();
  }

  #wakeDue(task: TaskRecord, wakeOn: WakeOn): boolean {
    if (wakeOn.cancel && task.cancelRequestedAt !== null) return true;
    for (const id of wakeOn.children ?? []) {
      const child = this.#tasks.get(id);
      if (child && isTerminalStatus(child.status)) return true;
    }
    return (wakeOn.signals ?? []).some((w) => this.#signals.read(task.id, w.name, w.index) !== undefined);
  }

  #hasActiveChildren(taskId: string): boolean {
    for (const t of this.#tasks.values())
      if (t.parentId === taskId && ACTIVE_STATUSES.includes(t.status)) return true;
    return false;
  }

  #claim(task: TaskRecord, workerId: string, now: number, leaseMs: number): Lease {
    task.status = "running";
    task.revision += 1;
    task.claims += 1;
    task.leaseOwner = workerId;
    task.leaseExpiresAt = now + leaseMs;
    task.updatedAt = now;
    return { taskId: task.id, workerId, revision: task.revision };
  }

  /** A task reached a terminal status: its terminal event, and its parent's `child` event and wake-up. */
  #terminal(task: TaskRecord, status: TerminalEventName, data: string, now: number): void {
    task.status = status;
    this.#append(task, status, data, now);
    const parent = task.parentId === null ? undefined : this.#tasks.get(task.parentId);
    if (!parent) return;
    this.#append(parent, CHILD_EVENT, childEventData(task.id, task.name, status), now);
    parent.updatedAt = now;
    if (parent.status === "waiting") {
      parent.revision += 1;
      this.#wake(parent, now);
    }
  }

  #holds(task: TaskRecord, lease: Lease): boolean {
    return (
      task.status === "running" && task.revision === lease.revision && task.leaseOwner === lease.workerId
    );
  }

  #fenced(lease: Lease): TaskRecord {
    const task = this.#tasks.get(lease.taskId);
    // A deleted task (retention, erasure) is a lost lease too: its worker stops, nothing is written.
    if (!task) throw new StoreConflictError(lease.taskId, "the task no longer exists");
    if (!this.#holds(task, lease)) throw new StoreConflictError(task.id, "the lease is no longer held");
    return task;
  }

  #check(): void {
    if (this.#closed) throw new Error("memoryStore is closed");
  }
}
