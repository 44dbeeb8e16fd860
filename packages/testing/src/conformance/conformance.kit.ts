import { randomUUID } from "node:crypto";
import { type ErrorCode, isTaskwireError } from "@taskwire/core";
import {
  type ClaimedTask,
  type EventRecord,
  encode,
  type Lease,
  type NewEvent,
  type NewTask,
  type SerializedError,
  type Settlement,
  type StepRecord,
  serializeError,
  type TaskRecord,
  type TaskStore,
  type TerminalEventName,
} from "@taskwire/core/store";
import { expect, onTestFinished } from "vitest";

/** Options of `describeStoreConformance`. */
export interface StoreConformanceOptions {
  /**
   * Returns a second, independent instance (its own connections or handle) over the same backing storage
   * as `first`, unopened. Enables the cross-instance tests that multi-process stores must pass; omit it for
   * stores that cannot share storage (memory).
   */
  secondInstance?: (first: TaskStore) => Promise<TaskStore> | TaskStore;
  /**
   * How long a test waits for a doorbell (`watchEvents`, `watchCancels`, `watchWork`) before failing. Stores that
   * fall back to a bounded poll need at least one poll interval.
   * @default 5000
   */
  ringTimeoutMs?: number;
}

/** Builds a store under test; called once per test. */
export type StoreFactory = () => Promise<TaskStore> | TaskStore;

/** What every conformance group receives. */
export interface Suite {
  factory: StoreFactory;
  options: StoreConformanceOptions;
}

/** A fixed, far-from-today clock origin: a store that reads its own clock instead of `now` shows up. */
export const T0 = 1_000_000_000_000;
/** Lease length used throughout the suite. */
export const LEASE_MS = 30_000;
const WORKER = "worker-a";

/** Per-test helpers around one opened store; every name and owner is unique to the test. */
export class Kit {
  /** The default task name of this test. */
  readonly name: string;
  /** The default owner of this test. */
  readonly owner: string;

  constructor(
    readonly store: TaskStore,
    readonly ringTimeoutMs: number,
    /** Prefix unique to this test, so stores that share backing storage across tests do not leak. */
    readonly ns = `conf${randomUUID().replaceAll("-", "").slice(0, 12)}`,
  ) {
    this.name = `${ns}.task`;
    this.owner = `${ns}-owner`;
  }

  /** A `NewTask` with sensible defaults (queued at `T0`). */
  newTask(overrides: Partial<NewTask> = {}): NewTask {
    return {
      id: randomUUID(),
      name: this.name,
      input: encode({ rows: 3, note: "héllo" }),
      owner: this.owner,
      identity: encode({ id: this.owner, roles: ["admin"] }),
      parentId: null,
      runAt: T0,
      now: T0,
      ...overrides,
    };
  }

  /** Creates a queued task and returns it. */
  async create(overrides: Partial<NewTask> = {}): Promise<TaskRecord> {
    const res = await this.store.createTask(this.newTask(overrides));
    expect(res.created).toBe(true);
    if (!res.created) throw new Error("createTask did not create the task");
    return res.task;
  }

  /** Creates a task already running under a lease (`claimFor`). */
  async running(overrides: Partial<NewTask> = {}, workerId = WORKER): Promise<ClaimedTask> {
    const res = await this.store.createTask(
      this.newTask({ claimFor: { workerId, leaseMs: LEASE_MS }, ...overrides }),
    );
    if (!res.created || !res.lease) throw new Error("createTask with claimFor returned no lease");
    return { task: res.task, lease: res.lease };
  }

  /** Claims this test's tasks at `now`. */
  claim(
    now = T0,
    limit = 10,
    workerId = WORKER,
    names: readonly string[] = [this.name],
  ): Promise<ClaimedTask[]> {
    return this.store.claimTasks({ workerId, names, limit, now, leaseMs: LEASE_MS });
  }

  /** A running task whose first lease expired and was reclaimed by another worker. */
  async reclaimed(): Promise<{ stale: Lease; fresh: Lease; task: TaskRecord }> {
    const { lease: stale } = await this.running();
    const [claimed, ...rest] = await this.claim(T0 + LEASE_MS + 1, 10, "worker-b");
    expect(rest).toHaveLength(0);
    if (!claimed) throw new Error("the expired lease was not reclaimed");
    return { stale, fresh: claimed.lease, task: claimed.task };
  }

  /** Reads a task that must exist. */
  async get(taskId: string): Promise<TaskRecord> {
    const task = await this.store.getTask(taskId);
    if (!task) throw new Error(`task ${taskId} is missing`);
    return task;
  }

  /** Appends `count` emitted events at emit positions `first`, `first + 1` … under `lease`; returns their seqs. */
  async emit(lease: Lease, count: number, first = 0): Promise<number[]> {
    const seqs: number[] = [];
    for (let p = first; p < first + count; p++) seqs.push(await this.store.appendEvent(lease, emitted(p)));
    return seqs;
  }
}

/** The event a task emits at emit `position` (0-based). */
export function emitted(position: number, name = "progress"): NewEvent {
  return { position, name, data: encode({ done: position, total: 1_000n }), at: T0 + position + 1 };
}

/**
 * The WAL record of `emitted(position, name)` stored at `seq`; `position` defaults to `seq - 1`, as in a
 * task whose WAL holds only its own emitted events.
 */
export function event(seq: number, name = "progress", position = seq - 1): EventRecord {
  const { data, at } = emitted(position, name);
  return { seq, name, data, at };
}

/**
 * A step checkpoint at `position`: its body began 250 ms before it was recorded and took 2 attempts
 * (values a store must keep, not defaults it could make up).
 */
export function stepAt(position: number, emits = 0): StepRecord {
  return {
    position,
    key: `fetchRows#${position}`,
    output: encode({ rows: [position] }),
    emits,
    startedAt: T0 + position - 250,
    at: T0 + position,
    attempts: 2,
  };
}

/** A serialized error for failed/retrying settlements. */
export function boom(message = "boom"): SerializedError {
  return serializeError(new Error(message));
}

/** Encoded payload of a terminal event. */
export const TERMINAL_DATA = encode({ reason: "done" });

/** A terminal settlement for each terminal status. */
export const TERMINAL_SETTLEMENTS = {
  completed: { status: "completed", result: '{"url":"/r/1"}', event: TERMINAL_DATA },
  failed: { status: "failed", error: boom("exhausted"), event: TERMINAL_DATA },
  cancelled: { status: "cancelled", event: TERMINAL_DATA },
} as const satisfies Record<TerminalEventName, Settlement>;

/** Opens a fresh store from the factory for the current test and closes it when the test finishes. */
export async function openKit(suite: Suite): Promise<Kit> {
  const store = await suite.factory();
  onTestFinished(() => store.close());
  await store.open();
  return new Kit(store, suite.options.ringTimeoutMs ?? 5000);
}

/** Opens a second instance over the first's storage (requires `secondInstance`). */
export async function openSecond(suite: Suite, first: Kit): Promise<Kit> {
  const make = suite.options.secondInstance;
  if (!make) throw new Error("secondInstance is not configured");
  const store = await make(first.store);
  onTestFinished(() => store.close());
  await store.open();
  return new Kit(store, first.ringTimeoutMs, first.ns);
}

/**
 * Asserts that `promise` rejects with a Taskwire error carrying `code` (brand check, not instanceof);
 * returns the error's `details`.
 */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  let outcome: { ok: true } | { ok: false; error: unknown };
  try {
    await promise;
    outcome = { ok: true };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) throw new Error(`expected a rejection with ${code}, but the call resolved`);
  expect(isTaskwireError(outcome.error, code), `expected ${code}, got ${String(outcome.error)}`).toBe(true);
  return (outcome.error as { details?: unknown }).details;
}

/** A callback that counts its calls and lets a test await the next one, with a deadline. */
export interface Ring<TArgs extends unknown[] = []> {
  readonly fn: (...args: TArgs) => void;
  readonly calls: TArgs[];
  /** Resolves with the arguments of the next call (or the call number `n`, 1-based, if it already happened). */
  next(n?: number): Promise<TArgs>;
}

/** Creates a {@link Ring} whose waits fail after `timeoutMs`. */
export function ring<TArgs extends unknown[] = []>(timeoutMs: number, label = "ring"): Ring<TArgs> {
  const calls: TArgs[] = [];
  let waiters: Array<() => void> = [];
  const fn = (...args: TArgs) => {
    calls.push(args);
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  };
  const next = (n = calls.length + 1): Promise<TArgs> =>
    within(
      new Promise<TArgs>((resolve) => {
        const check = () => {
          const got = calls[n - 1];
          if (got) resolve(got);
          else waiters.push(check);
        };
        check();
      }),
      timeoutMs,
      `${label} #${n}`,
    );
  return { fn, calls, next };
}

/** Races `promise` against a deadline; the timer never keeps the process alive. */
export function within<T>(promise: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not happen within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Sorts tasks the way `listTasks` must: `createdAt` desc, then id desc. */
export function newestFirst(tasks: readonly TaskRecord[]): string[] {
  return [...tasks]
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((t) => t.id);
}

/**
 * Waits for rings of `bell` after its first `seen` until `check` passes right after one (rings may be
 * spurious or coalesced, so a ring alone proves nothing); fails after `timeoutMs`.
 */
export async function untilRung<TArgs extends unknown[]>(
  bell: Ring<TArgs>,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  label: string,
  seen = 0,
): Promise<void> {
  let done = false;
  const loop = async () => {
    for (let n = seen + 1; !done; n++) {
      await bell.next(n);
      if (await check()) return;
    }
  };
  try {
    await within(loop(), timeoutMs, label);
  } finally {
    done = true;
  }
}
