import type { z } from "zod";
import type { Clock } from "../clock/clock";
import { decode, encode } from "../codec/codec";
import { ChildTaskError, SignalTimeoutError } from "../errors/flow-errors";
import {
  CancelledError,
  deserializeError,
  InvalidDefinitionError,
  type SerializedError,
  TaskNotFoundError,
} from "../errors/taskwire-error";
import type { LazyLogger } from "../internal/lazy-logger";
import type { TaskwireMetrics } from "../observe/metrics";
import { childEventData } from "../store/child-event";
import { isTerminalStatus, type Lease, type TaskStore } from "../store/task-store";
import { type AnyTaskDefinition, isTaskDefinition } from "../task/define-task";
import { checkPriority } from "../task/priority";
import { parseWith } from "../task/validate";
import type { Suspension } from "./suspension";
import { newTaskId } from "./task-id";
import type { TaskLike } from "./task-ref";

/** What the flow primitives need from the run they belong to. */
export interface FlowHost {
  readonly taskId: string;
  readonly store: TaskStore;
  readonly lease: Lease;
  readonly clock: Clock;
  readonly definition: AnyTaskDefinition;
  readonly suspension: Suspension;
  /** The run's logger (bound to the task id and name). */
  readonly logger: LazyLogger;
  /**
   * Takes the next checkpoint position for `name` (keyed `name#occurrence`) and returns the recorded
   * output at that position, if any; throws `NonDeterminismError` when another key is recorded there.
   */
  checkpoint(name: string): { position: number; key: string; recorded: string | undefined };
  /**
   * Records a checkpoint after the events emitted before it are durable; `waited` (a child's result, a
   * signal) dates its start at the previous checkpoint, so timelines show the wait.
   */
  record(position: number, key: string, output: string, waited?: boolean): Promise<void>;
  /** Throws the stop reason if the run was cancelled, timed out or lost its lease. */
  throwIfStopped(): void;
  /** Counts spawned children as started tasks when metrics are on. */
  readonly metrics?: TaskwireMetrics | undefined;
}

/** The outcome of a child task as the parent records it. */
type ChildOutcome =
  | { status: "completed"; result: unknown }
  | { status: "failed"; error: SerializedError }
  | { status: "cancelled" };

/** A spawned child task: its id, and its typed result (waited for durably). */
export interface ChildHandle<TResult = unknown> {
  readonly taskId: string;
  /** Waits for the child to settle: its result, `ChildTaskError` when it failed, `CancelledError` when cancelled. */
  result(): Promise<TResult>;
}

/** Options of `ctx.spawn`. */
export interface SpawnOptions {
  /** Memoization key instead of the child task's name (keys are still counted by occurrence). */
  key?: string;
  /**
   * The child's claim priority (-10 … 10). Children do not inherit their parent's priority: a parent that
   * waits for its children is best served by children that get on (give them its priority explicitly).
   * @default 0
   */
  priority?: number;
}

/** `ctx.spawn`: creates the child once (memoized like a step) and returns its handle. */
export async function spawn(
  host: FlowHost,
  task: TaskLike,
  input: unknown,
  options: SpawnOptions = {},
): Promise<ChildHandle> {
  host.throwIfStopped();
  // The ref (or definition) carries the child's schema: this node need not run the child's task itself.
  const definition = isTaskDefinition(task) ? task : task.definition;
  const { position, key, recorded } = host.checkpoint(`spawn:${options.key ?? definition.name}`);
  if (recorded !== undefined) return handle(host, decode<string>(recorded), key);
  const priority = checkPriority(options.priority, `spawn options of child task "${definition.name}"`);
  const parsed = parseWith(definition.input, input, `input of child task "${definition.name}"`);
  const childId = newTaskId();
  const now = host.clock.now();
  await host.suspension.track(() =>
    host.store.spawnChild(host.lease, {
      step: { position, key, output: encode(childId), emits: 0, startedAt: now, at: now, attempts: 1 },
      child: { id: childId, name: definition.name, input: encode(parsed), runAt: now, priority },
      event: childEventData(childId, definition.name, "queued"),
      now,
    }),
  );
  host.metrics?.taskStarted(definition.name);
  return handle(host, childId, key);
}

function handle(host: FlowHost, childId: string, spawnKey: string): ChildHandle {
  let result: Promise<unknown> | undefined;
  return Object.freeze({
    taskId: childId,
    result: () => {
      result ??= childResult(host, childId, spawnKey);
      return result;
    },
  });
}

async function childResult(host: FlowHost, childId: string, spawnKey: string): Promise<unknown> {
  host.throwIfStopped();
  const { position, key, recorded } = host.checkpoint(`result:${spawnKey}`);
  let outcome: ChildOutcome;
  if (recorded !== undefined) outcome = decode<ChildOutcome>(recorded);
  else {
    const child = await host.suspension.track(() => host.store.getTask(childId));
    if (!child) throw new TaskNotFoundError(childId);
    if (!isTerminalStatus(child.status)) return host.suspension.wait({ child: childId });
    outcome =
      child.status === "completed"
        ? { status: "completed", result: child.result === null ? null : decode(child.result) }
        : child.status === "failed"
          ? { status: "failed", error: child.error ?? { code: "INTERNAL", message: "Unknown failure." } }
          : { status: "cancelled" };
    await host.suspension.track(() => host.record(position, key, encode(outcome), true));
  }
  if (outcome.status === "completed") return outcome.result;
  if (outcome.status === "cancelled") throw new CancelledError(childId);
  throw new ChildTaskError(childId, outcome.error, deserializeError(outcome.error));
}

/** `ctx.sleepUntil`: a durable timer; the deadline is recorded, so a replay past it does not sleep again. */
export async function sleepUntil(host: FlowHost, name: string, deadline: number): Promise<void> {
  host.throwIfStopped();
  if (!Number.isFinite(deadline)) throw new InvalidDefinitionError(`sleep "${name}" needs a finite time.`);
  const { position, key, recorded } = host.checkpoint(`sleep:${name}`);
  let due = deadline;
  if (recorded !== undefined) due = decode<number>(recorded);
  else await host.suspension.track(() => host.record(position, key, encode(deadline)));
  if (host.clock.now() >= due) return;
  return host.suspension.wait({ runAt: due });
}

/**
 * `ctx.waitForSignal`: the k-th wait for `name` consumes the k-th *valid* signal of that name, in arrival
 * order. A payload the signal's schema rejects (one sent without validation, e.g. by the CLI, which cannot
 * load the task's schemas) is skipped and logged `task.signal_rejected`: the wait keeps waiting for a
 * valid one instead of failing the task. Signals are append-only and the schema is the code's, so which
 * ones are valid — and so which one each wait consumes — is the same on every replay.
 */
export async function waitForSignal(
  host: FlowHost,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<unknown> {
  host.throwIfStopped();
  const definition = host.definition;
  const schema = Object.hasOwn(definition.signals, name) ? definition.signals[name] : undefined;
  if (!schema) {
    throw new InvalidDefinitionError(`Task "${definition.name}" declares no signal "${name}".`, {
      task: definition.name,
      signal: name,
    });
  }
  let deadline: number | undefined;
  if (options.timeoutMs !== undefined) {
    // The deadline is a checkpoint of its own: a replay waits for the same moment, not a new one.
    const started = host.checkpoint(`signal-deadline:${name}`);
    deadline =
      started.recorded !== undefined
        ? decode<number>(started.recorded)
        : host.clock.now() + options.timeoutMs;
    if (started.recorded === undefined) {
      const at = deadline;
      await host.suspension.track(() => host.record(started.position, started.key, encode(at)));
    }
  }
  const { position, key, recorded } = host.checkpoint(`signal:${name}`);
  const occurrence = Number(key.slice(key.lastIndexOf("#") + 1));
  let outcome: { payload: unknown; index?: number } | { timeout: true; index?: number };
  if (recorded !== undefined) outcome = decode(recorded);
  else {
    const found = await findValidSignal(host, name, schema, occurrence);
    if ("payload" in found) outcome = found;
    else if (deadline !== undefined && host.clock.now() >= deadline) outcome = { timeout: true };
    else return host.suspension.wait({ runAt: deadline, signal: { name, index: found.next } });
    await host.suspension.track(() => host.record(position, key, encode(outcome), true));
  }
  if ("timeout" in outcome) throw new SignalTimeoutError(host.taskId, name, options.timeoutMs ?? 0);
  return outcome.payload;
}

/** Signals read by this run, by `name#index` (`invalid` once rejected): each is read and judged once. */
const readSignals = new WeakMap<FlowHost, Map<string, { payload: unknown } | "invalid">>();

/**
 * The `occurrence`-th (0-based) signal named `name` that the schema accepts, with its arrival index; or,
 * when there are not enough yet, the index of the next signal to arrive (the wait's wake-up condition).
 */
async function findValidSignal(
  host: FlowHost,
  name: string,
  schema: z.ZodType,
  occurrence: number,
): Promise<{ payload: unknown; index: number } | { next: number }> {
  let cache = readSignals.get(host);
  if (!cache) {
    cache = new Map();
    readSignals.set(host, cache);
  }
  let valid = 0;
  for (let index = 0; ; index++) {
    const cacheKey = `${name}#${index}`;
    let seen = cache.get(cacheKey);
    if (seen === undefined) {
      const encoded = await host.suspension.track(() => host.store.readSignal(host.taskId, name, index));
      if (encoded === undefined) return { next: index };
      const parsed = schema.safeParse(decode(encoded));
      seen = parsed.success ? { payload: parsed.data } : "invalid";
      if (!parsed.success) {
        host.logger.warn(
          {
            event: "task.signal_rejected",
            signal: name,
            index,
            fields: parsed.error.issues.map((issue) => issue.path.join(".") || "(payload)"),
          },
          "signal payload rejected by the task's schema; still waiting for a valid one",
        );
      }
      cache.set(cacheKey, seen);
    }
    if (seen === "invalid") continue;
    if (valid === occurrence) return { payload: seen.payload, index };
    valid++;
  }
}
