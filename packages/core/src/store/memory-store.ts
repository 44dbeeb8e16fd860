import { StoreConflictError, TaskNotFoundError } from "../errors/taskwire-error";
import { LocalDoorbells } from "./local-doorbells";
import { newTaskRecord } from "./new-task-record";
import {
  ACTIVE_STATUSES,
  type CancelOutcome,
  type ClaimedTask,
  type ClaimRequest,
  type CreateTaskResult,
  type EventRecord,
  isTerminalStatus,
  type Lease,
  type LeaseState,
  type NewTask,
  type Settlement,
  type StepRecord,
  type TaskFilter,
  type TaskHistory,
  type TaskRecord,
  type TaskStore,
  type TerminalEventName,
  type Unwatch,
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
  #bells = new LocalDoorbells();
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
    if (spec.maxActivePerOwner !== undefined) {
      let active = 0;
      for (const t of this.#tasks.values()) {
        if (t.owner === spec.owner && ACTIVE_STATUSES.includes(t.status)) active++;
      }
      if (active >= spec.maxActivePerOwner) return { created: false, limited: true, active };
    }
    if (spec.idempotency) {
      this.#idempotency.set(JSON.stringify([spec.owner, spec.name, spec.idempotency.key]), {
        taskId: spec.id,
        inputHash: spec.idempotency.inputHash,
        expiresAt: spec.idempotency.expiresAt,
      });
    }
    const task = newTaskRecord(spec);
    this.#tasks.set(task.id, task);
    this.#steps.set(task.id, new Map());
    this.#events.set(task.id, []);
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
    const statuses = filter.status === undefined ? undefined : ([] as string[]).concat(filter.status);
    return [...this.#tasks.values()]
      .filter(
        (t) =>
          (filter.owner === undefined || t.owner === filter.owner) &&
          (filter.name === undefined || t.name === filter.name) &&
          (filter.parentId === undefined || t.parentId === filter.parentId) &&
          (statuses === undefined || statuses.includes(t.status)) &&
          (filter.createdBefore === undefined || t.createdAt < filter.createdBefore),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, filter.limit ?? 100)
      .map((t) => ({ ...t }));
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    this.#check();
    const names = new Set(request.names);
    const ready = [...this.#tasks.values()]
      .filter(
        (t) =>
          names.has(t.name) &&
          (((t.status === "queued" || t.status === "retrying") && t.runAt <= request.now) ||
            (t.status === "running" && (t.leaseExpiresAt ?? 0) < request.now)),
      )
      .sort((a, b) => a.runAt - b.runAt)
      .slice(0, request.limit);
    return ready.map((task) => {
      const lease = this.#claim(task, request.workerId, request.now, request.leaseMs);
      return { task: { ...task }, lease };
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
    const task = this.#tasks.get(taskId);
    const events = this.#events.get(taskId) ?? [];
    const eventNames = (task && isTerminalStatus(task.status) ? events.slice(0, -1) : events).map(
      (e) => e.name,
    );
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

  async appendEvent(lease: Lease, event: EventRecord): Promise<void> {
    this.#check();
    const task = this.#fenced(lease);
    if (event.seq !== task.lastSeq + 1) {
      throw new StoreConflictError(task.id, `event seq ${event.seq} is not the next seq ${task.lastSeq + 1}`);
    }
    this.#events.get(task.id)!.push({ ...event });
    task.lastSeq = event.seq;
    this.#bells.ringEvents(task.id);
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
    }
  }

  async requestCancel(taskId: string, now: number, event: string): Promise<CancelOutcome> {
    this.#check();
    const task = this.#tasks.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (isTerminalStatus(task.status)) return { task: { ...task }, outcome: "already_finished" };
    const first = task.cancelRequestedAt === null;
    if (first) task.cancelRequestedAt = now;
    if (task.status === "queued" || task.status === "retrying") {
      task.revision += 1;
      task.updatedAt = now;
      this.#terminal(task, "cancelled", event, now);
      return { task: { ...task }, outcome: "cancelled" };
    }
    task.updatedAt = now;
    if (first) this.#bells.cancelRequested(taskId);
    return { task: { ...task }, outcome: first ? "requested" : "already_requested" };
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

  #claim(task: TaskRecord, workerId: string, now: number, leaseMs: number): Lease {
    task.status = "running";
    task.revision += 1;
    task.claims += 1;
    task.leaseOwner = workerId;
    task.leaseExpiresAt = now + leaseMs;
    task.updatedAt = now;
    return { taskId: task.id, workerId, revision: task.revision };
  }

  #terminal(task: TaskRecord, status: TerminalEventName, data: string, now: number): void {
    task.status = status;
    task.lastSeq += 1;
    this.#events.get(task.id)!.push({ seq: task.lastSeq, name: status, data, at: now });
    this.#bells.ringEvents(task.id);
  }

  #holds(task: TaskRecord, lease: Lease): boolean {
    return (
      task.status === "running" && task.revision === lease.revision && task.leaseOwner === lease.workerId
    );
  }

  #fenced(lease: Lease): TaskRecord {
    const task = this.#tasks.get(lease.taskId);
    if (!task) throw new TaskNotFoundError(lease.taskId);
    if (!this.#holds(task, lease)) throw new StoreConflictError(task.id, "the lease is no longer held");
    return task;
  }

  #check(): void {
    if (this.#closed) throw new Error("memoryStore is closed");
  }
}
