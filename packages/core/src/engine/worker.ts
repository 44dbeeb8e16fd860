import type { Logger } from "pino";
import { Bell } from "../internal/bell";
import {
  type ClaimedTask,
  isTerminalStatus,
  NEVER_DUE,
  type Settlement,
  type TaskStore,
  type Unwatch,
} from "../store/task-store";
import type { TaskRegistry } from "./registry";
import { type RunHandle, type RunnerDeps, startRun } from "./runner";

/** A reserved worker slot (see `Worker.reserve`). */
export interface SlotReservation {
  /** Runs the task created already claimed in this slot. */
  run(claimed: ClaimedTask): void;
  /** Gives the slot back unless `run` used it; idempotent. */
  release(): void;
}

/** Worker settings (see `TaskflowOptions`). */
export interface WorkerOptions {
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
}

/**
 * Claims tasks under leases and runs up to `concurrency` at once. Woken by local starts and finished runs
 * (a doorbell), otherwise polls every `pollIntervalMs` for work from other processes and for tasks whose
 * lease expired. One heartbeat timer renews every held lease at `leaseMs / 3` and stops runs whose lease
 * was lost or whose task got a cancel request.
 */
export class Worker {
  readonly #deps: RunnerDeps;
  readonly #registry: TaskRegistry;
  readonly #store: TaskStore;
  readonly #logger: Logger;
  readonly #options: WorkerOptions;
  readonly #running = new Map<string, RunHandle>();
  readonly #bell = new Bell();
  /**
   * Whether claimable work may exist that this worker knows of (a local start it could not claim at
   * creation, a full claim batch, a due retry). A freed slot rings the claim loop only then; work queued by
   * other processes, or left by a dead worker, is found by the poll. Saves a claim query per finished run.
   */
  #backlog = true;
  #reserved = 0;
  /**
   * Handlers running now. A run stops counting once its settlement is queued (its slot is free again)
   * even while it stays in `#running` until the write commits.
   */
  #handlers = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #stopHeartbeat: (() => void) | undefined;
  #unwatchCancels: Unwatch | undefined;
  #unwatchWork: Unwatch | undefined;
  #wakeTimers = new Set<() => void>();
  #debounceWakes = new Map<string, () => void>();

  constructor(deps: RunnerDeps, options: WorkerOptions) {
    this.#deps = deps;
    this.#registry = deps.registry;
    this.#store = deps.store;
    this.#logger = deps.logger;
    this.#options = options;
  }

  get workerId(): string {
    return this.#options.workerId;
  }

  /** Slots taken: handlers running, plus reservations. */
  get #busy(): number {
    return this.#handlers + this.#reserved;
  }

  start(): void {
    this.#unwatchCancels = this.#store.watchCancels((taskId) => this.#running.get(taskId)?.stop("cancel"));
    // A waiting task woken by an event (a child settled, a signal, a retry), here or on another node.
    this.#unwatchWork = this.#store.watchWork(() => this.wake());
    this.#stopHeartbeat = this.#heartbeatEvery(Math.max(50, Math.floor(this.#options.leaseMs / 3)));
    this.#loop = this.#run();
    this.#logger.info(
      { event: "worker.start_completed", workerId: this.workerId, concurrency: this.#options.concurrency },
      "worker started",
    );
  }

  /**
   * Reserves a slot for a task the caller is about to create already claimed; `undefined` when full.
   * The reservation ends exactly once: `run` hands it the claimed task, `release` (safe to call on every
   * path, e.g. in a `finally`, also after `run`) gives the slot back.
   */
  reserve(): SlotReservation | undefined {
    if (this.#stopping || this.#busy >= this.#options.concurrency) return undefined;
    this.#reserved += 1;
    let open = true;
    const end = () => {
      if (!open) return false;
      open = false;
      this.#reserved -= 1;
      return true;
    };
    return {
      run: (claimed) => {
        if (end()) this.#launch(claimed);
      },
      release: () => {
        // A freed reservation is new work only if a backlog is known (a deduplicated or refused start is not).
        if (end() && this.#backlog) this.#bell.ring();
      },
    };
  }

  /** Rings the doorbell: there may be new work. */
  wake(): void {
    this.#backlog = true;
    this.#bell.ring();
  }

  /** Wakes the worker at `at` (a retry's `runAt`); returns a function that cancels it. */
  wakeAt(at: number, onFire?: () => void): () => void {
    const { clock } = this.#deps;
    const cancel = clock.setTimer(() => {
      this.#wakeTimers.delete(cancel);
      onFire?.();
      this.wake();
    }, at - clock.now());
    this.#wakeTimers.add(cancel);
    return () => {
      this.#wakeTimers.delete(cancel);
      cancel();
    };
  }

  /**
   * Wakes the worker at a debounced task's `runAt`. One timer per task: every start of a window pushes the
   * task's `runAt`, and only the last one matters (a burst of starts must not leave a burst of timers). When
   * it fires, the task is read again: a start on another node may have pushed `runAt` further, and the
   * timer is then armed for that time, so the task is not left for the poll.
   */
  wakeDebounced(taskId: string, at: number): void {
    this.#debounceWakes.get(taskId)?.();
    const cancel = this.wakeAt(at, () => {
      if (this.#debounceWakes.get(taskId) === cancel) this.#debounceWakes.delete(taskId);
      void this.#rearmDebounced(taskId);
    });
    this.#debounceWakes.set(taskId, cancel);
  }

  async #rearmDebounced(taskId: string): Promise<void> {
    if (this.#stopping) return;
    try {
      const task = await this.#store.getTask(taskId);
      // Still waiting out its period (pushed by another node's start, or the timer fired early): wait again.
      const pending = task?.status === "queued" && task.claims === 0;
      if (
        pending &&
        task.runAt > this.#deps.clock.now() &&
        !this.#debounceWakes.has(taskId) &&
        !this.#stopping
      )
        this.wakeDebounced(taskId, task.runAt);
    } catch (error) {
      // The poll still finds the task; a failed read only costs latency.
      this.#logger.warn(
        { event: "worker.debounce_read_failed", taskId, err: error },
        "debounce re-check failed",
      );
    }
  }

  /** Stops a local run because its task was cancelled (the cancel watch does this for remote requests). */
  stopForCancel(taskId: string): void {
    this.#running.get(taskId)?.stop("cancel");
  }

  /** Stops claiming, aborts running handlers and waits for them to hand their tasks back. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#bell.ring();
    await this.#loop;
    for (const cancel of this.#wakeTimers) cancel();
    this.#debounceWakes.clear();
    const handles = [...this.#running.values()];
    for (const handle of handles) handle.stop("shutdown");
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timeout = setTimeout(resolve, this.#options.shutdownTimeoutMs);
    });
    await Promise.race([Promise.allSettled(handles.map((h) => h.done)), timedOut]);
    clearTimeout(timeout);
    // Handlers that ignored the signal: hand their tasks back anyway; their later writes are fenced out.
    await Promise.allSettled(
      [...this.#running.values()].map((h) =>
        this.#store.settleTask(
          h.claimed.lease,
          { status: "queued", runAt: this.#deps.clock.now() },
          this.#deps.clock.now(),
        ),
      ),
    );
    // Only now: leases stay renewed (and cancels heard) while handlers finish within the grace, so no
    // other node reclaims a task whose step is still running here.
    this.#stopHeartbeat?.();
    this.#unwatchCancels?.();
    this.#unwatchWork?.();
    this.#logger.info({ event: "worker.stop_completed", workerId: this.workerId }, "worker stopped");
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#bell.clear();
      const capacity = this.#options.concurrency - this.#busy;
      let full = false;
      if (capacity > 0 && this.#registry.names().length > 0) {
        // Cleared before the query: a start that arrives meanwhile sets it again.
        this.#backlog = false;
        try {
          const claimed = await this.#store.claimTasks({
            workerId: this.workerId,
            names: this.#registry.names(),
            limit: capacity,
            now: this.#deps.clock.now(),
            leaseMs: this.#options.leaseMs,
            running: this.#registry.runningLimits(),
          });
          for (const c of claimed) this.#launch(c);
          full = claimed.length === capacity;
          if (full) this.#backlog = true;
        } catch (error) {
          this.#backlog = true;
          this.#logger.error({ event: "worker.claim_failed", err: error }, "claiming tasks failed");
        }
      }
      if (this.#stopping) break;
      if (full) continue;
      await this.#bell.wait(this.#options.pollIntervalMs);
    }
  }

  #launch(claimed: ClaimedTask): void {
    const taskId = claimed.task.id;
    const { task, reclaimed } = claimed;
    const { metrics, clock } = this.#deps;
    // A reclaim's run_at is from before the dead run: no queue wait to speak of.
    const waitMs = reclaimed ? 0 : Math.max(0, clock.now() - task.runAt);
    if (metrics) {
      if (reclaimed) metrics.leaseReclaimed(task.name);
      else metrics.queueWait(task.name, waitMs);
    }
    this.#logger.debug(
      {
        event: reclaimed ? "task.lease_reclaimed" : "task.claim_acquired",
        taskId,
        task: task.name,
        attempt: task.attempt,
        claims: task.claims,
        waitMs,
      },
      reclaimed ? "expired lease reclaimed" : "task claimed",
    );
    // Claim the next task as soon as this run's settlement is queued, not once it committed: the claim then
    // joins the settlement's group commit instead of costing a commit of its own. The new handler starts
    // after that commit, so at most `concurrency` handlers ever run at once.
    let settling = false;
    this.#handlers += 1;
    const handle = startRun(this.#deps, claimed, () => {
      if (settling) return;
      settling = true;
      this.#handlers -= 1;
      if (this.#backlog) this.#bell.ring();
    });
    this.#running.set(taskId, handle);
    void this.#afterRun(handle, () => settling);
  }

  /** Bookkeeping once a run ends (one async function: fewer promises than a then/catch/finally chain). */
  async #afterRun(handle: RunHandle, settling: () => boolean): Promise<void> {
    const taskId = handle.claimed.task.id;
    let settlement: Settlement | undefined;
    try {
      settlement = await handle.done;
      // Due times (a retry's backoff, a durable timer) wake this worker; event wake-ups come by watchWork.
      const due =
        settlement?.status === "retrying" || settlement?.status === "waiting" ? settlement.runAt : NEVER_DUE;
      if (due !== NEVER_DUE && !this.#stopping) this.wakeAt(due);
    } catch (error) {
      const { name, attempt } = handle.claimed.task;
      this.#logger.error(
        { event: "task.run_crashed", taskId, task: name, attempt, err: error },
        "run crashed",
      );
    } finally {
      if (!settling()) this.#handlers -= 1;
      // The in-memory token is kept only while this process may run the task again.
      if (settlement === undefined || isTerminalStatus(settlement.status)) this.#deps.tokens.delete(taskId);
      // A retry due at once may already be claimed again (same batch as this settlement): keep that run.
      if (this.#running.get(taskId) === handle) this.#running.delete(taskId);
      if (this.#backlog || this.#stopping) this.#bell.ring();
    }
  }

  /** Renews leases every `intervalMs` on the engine's clock; the next round starts after this one ends. */
  #heartbeatEvery(intervalMs: number): () => void {
    let stopped = false;
    let cancel = () => {};
    const schedule = () => {
      cancel = this.#deps.clock.setTimer(() => {
        void this.#renewLeases().finally(() => {
          if (!stopped) schedule();
        });
      }, intervalMs);
    };
    schedule();
    return () => {
      stopped = true;
      cancel();
    };
  }

  async #renewLeases(): Promise<void> {
    const now = this.#deps.clock.now();
    await Promise.all(
      [...this.#running.values()].map(async (handle) => {
        try {
          const state = await this.#store.renewLease(handle.claimed.lease, now, this.#options.leaseMs);
          if (!state.held) handle.stop("lease_lost");
          else if (state.cancelRequested) handle.stop("cancel");
        } catch (error) {
          this.#logger.warn(
            {
              event: "task.heartbeat_failed",
              taskId: handle.claimed.task.id,
              task: handle.claimed.task.name,
              err: error,
            },
            "lease renewal failed",
          );
        }
      }),
    );
  }
}
