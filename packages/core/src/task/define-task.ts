import type { Logger } from "pino";
import type { z } from "zod";
import type { ChildHandle, SpawnOptions } from "../engine/flows";
import type { DefinitionOf, TaskLike } from "../engine/task-ref";
import { InvalidDefinitionError } from "../errors/taskwire-error";
import type { TaskUser } from "../identity/task-user";
import type { StepOptions } from "../step/step-options";
import type { TaskConcurrency } from "../store/running-limits";
import {
  DEFAULT_TASK_RETRY,
  type ResolvedRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
} from "./retry-policy";

/** Event name → payload schema. */
export type EventSchemas = Record<string, z.ZodType>;

/** Signal name → payload schema. */
export type SignalSchemas = Record<string, z.ZodType>;

/** Names the SSE bridge reserves; a task may not declare them as events. */
export const RESERVED_EVENT_NAMES: readonly string[] = [
  "ready",
  "completed",
  "failed",
  "cancelled",
  "interrupted",
  "error",
  "message",
  "open",
  "heartbeat",
  "child",
];

/** Allowed plugin event names: no CR/LF or spaces can ever reach the SSE wire. */
export const EVENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/** Allowed task names: dotted identifiers such as `reports.generate`. */
export const TASK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** The context a task body receives; `emit` and `waitForSignal` are typed by the task's schemas. */
export interface TypedTaskContext<
  TEvents extends EventSchemas = EventSchemas,
  TSignals extends SignalSchemas = SignalSchemas,
> {
  readonly taskId: string;
  /** The task definition's name. */
  readonly name: string;
  /** 1-based attempt number (bumped by retries, not by crash recovery). */
  readonly attempt: number;
  /** Aborts on cancel, timeout, lease loss or shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** The owner's identity, re-entered on every run. */
  readonly user: TaskUser;
  /** pino child logger carrying `taskId`, `task` and `attempt`. */
  readonly logger: Logger;
  /**
   * Appends a typed event to the WAL (validated now; durable before the next step or the result).
   * On replay, emits are deduplicated by position: the n-th emit of a run is skipped if the WAL has it.
   */
  emit<K extends keyof TEvents & string>(name: K, data: z.input<TEvents[K]>): void;
  /** Inline checkpoint: runs `fn` once and records its result; a replay returns the recorded result. */
  step<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<Awaited<T>>;
  /**
   * Starts a child task durably (memoized like a step: a replay returns the same child) as the same owner.
   * `await handle.result()` waits for it without holding a worker slot.
   */
  spawn<T extends TaskLike>(
    task: T,
    input: InferTaskInput<DefinitionOf<T>>,
    options?: SpawnOptions,
  ): Promise<ChildHandle<InferTaskResult<DefinitionOf<T>>>>;
  /** A durable timer: the task waits (no slot, no lease) for `ms`; a replay past the deadline does not wait again. */
  sleep(name: string, ms: number): Promise<void>;
  /** A durable timer until `at`. */
  sleepUntil(name: string, at: Date | number): Promise<void>;
  /**
   * Waits (no slot, no lease) for the next signal `name` declared in `signals`; the k-th wait consumes the
   * k-th signal of that name, so one sent before the wait is never lost. A timeout rejects with
   * `SignalTimeoutError`.
   */
  waitForSignal<K extends keyof TSignals & string>(
    name: K,
    options?: { timeoutMs?: number },
  ): Promise<z.output<TSignals[K]>>;
}

/** What `defineTask` accepts. */
export interface TaskOptions<
  TInput extends z.ZodType,
  TResult extends z.ZodType,
  TEvents extends EventSchemas,
  TSignals extends SignalSchemas = Record<never, never>,
> {
  /** Unique dotted name, e.g. `reports.generate`. */
  name: string;
  input: TInput;
  result: TResult;
  /** Event name → payload schema. @default {} */
  events?: TEvents;
  /** Signal name → payload schema: what `taskflow.signal` may deliver and `ctx.waitForSignal` waits for. @default {} */
  signals?: TSignals;
  /** Task-level retries. @default { maxAttempts: 3, backoff: "exponential", initialDelayMs: 1000 } */
  retry?: RetryPolicy;
  /** Per-attempt time limit; the attempt fails with `TASK_TIMEOUT` (retriable). @default none */
  timeoutMs?: number;
  /**
   * Caps on how many tasks of this name run at once: `max` across owners, `perOwner` for one owner.
   * Checked by the store when a worker claims (on every node sharing it); a task over a cap stays queued
   * until a slot frees, it is not refused. @default no cap
   */
  concurrency?: TaskConcurrency;
  /** The body. Code outside steps re-runs on replay: keep it deterministic. */
  run(
    input: z.output<TInput>,
    ctx: TypedTaskContext<TEvents, TSignals>,
  ): Promise<z.input<TResult>> | z.input<TResult>;
}

/** An inert, typed description of a task. Register it with `taskflow.task(def)`. */
export interface TaskDefinition<
  TInput extends z.ZodType = z.ZodType,
  TResult extends z.ZodType = z.ZodType,
  TEvents extends EventSchemas = EventSchemas,
  TSignals extends SignalSchemas = SignalSchemas,
> {
  readonly kind: "taskwire.task";
  readonly name: string;
  readonly input: TInput;
  readonly result: TResult;
  readonly events: TEvents;
  readonly signals: TSignals;
  readonly retry: ResolvedRetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly concurrency: Readonly<TaskConcurrency> | undefined;
  readonly run: TaskOptions<TInput, TResult, TEvents, TSignals>["run"];
}

/** Any task definition. */
// biome-ignore lint/suspicious/noExplicitAny: variance escape hatch for heterogeneous registries
export type AnyTaskDefinition = TaskDefinition<any, any, any, any>;

/** What callers pass to `start`: z.input of the input schema (defaults may be omitted). */
export type InferTaskInput<T> =
  T extends TaskDefinition<infer I, z.ZodType, EventSchemas>
    ? z.input<I>
    : T extends { definition: TaskDefinition<infer I, z.ZodType, EventSchemas> }
      ? z.input<I>
      : never;
/** What the task returns after validation. */
export type InferTaskResult<T> =
  T extends TaskDefinition<z.ZodType, infer R, EventSchemas>
    ? z.output<R>
    : T extends { definition: TaskDefinition<z.ZodType, infer R, EventSchemas> }
      ? z.output<R>
      : never;
/** The task's signal schemas. */
export type InferTaskSignals<T> =
  T extends TaskDefinition<z.ZodType, z.ZodType, EventSchemas, infer S>
    ? S
    : T extends { definition: TaskDefinition<z.ZodType, z.ZodType, EventSchemas, infer S> }
      ? S
      : never;
/** The task's event schemas. */
export type InferTaskEvents<T> =
  T extends TaskDefinition<z.ZodType, z.ZodType, infer E>
    ? E
    : T extends { definition: TaskDefinition<z.ZodType, z.ZodType, infer E> }
      ? E
      : never;

/**
 * Declares a task once: schemas for input, result and events, and a body split by `step()` checkpoints.
 * Event names are checked here, so a reserved or malformed name can never reach the SSE wire.
 * @example
 * const generate = defineTask({
 *   name: "reports.generate",
 *   input: z.object({ rows: z.number().int().positive() }),
 *   result: z.object({ url: z.string() }),
 *   events: { progress: z.object({ done: z.number(), total: z.number() }) },
 *   async run(input, ctx) {
 *     ctx.emit("progress", { done: 0, total: input.rows });
 *     return { url: await ctx.step("render", () => "/r/1") };
 *   },
 * });
 */
export function defineTask<
  TInput extends z.ZodType,
  TResult extends z.ZodType,
  TEvents extends EventSchemas = Record<never, never>,
  TSignals extends SignalSchemas = Record<never, never>,
>(
  options: TaskOptions<TInput, TResult, TEvents, TSignals>,
): TaskDefinition<TInput, TResult, TEvents, TSignals> {
  const { name } = options;
  if (typeof name !== "string" || name.length > 128 || !TASK_NAME_PATTERN.test(name)) {
    throw new InvalidDefinitionError(
      `Task name ${JSON.stringify(name)} is invalid: use a dotted name such as "reports.generate".`,
      {
        task: String(name),
      },
    );
  }
  for (const [field, schema] of [
    ["input", options.input],
    ["result", options.result],
  ] as const) {
    if (!isSchema(schema))
      throw new InvalidDefinitionError(`Task "${name}" needs a zod schema for "${field}".`, {
        task: name,
        field,
      });
  }
  if (typeof options.run !== "function")
    throw new InvalidDefinitionError(`Task "${name}" needs a run function.`, { task: name });
  const events = (options.events ?? {}) as TEvents;
  for (const [event, schema] of Object.entries(events)) {
    assertEventName(name, event);
    if (!isSchema(schema)) {
      throw new InvalidDefinitionError(`Event "${event}" of task "${name}" needs a zod schema.`, {
        task: name,
        event,
      });
    }
  }
  const signals = (options.signals ?? {}) as TSignals;
  for (const [signal, schema] of Object.entries(signals)) {
    if (!EVENT_NAME_PATTERN.test(signal)) {
      throw new InvalidDefinitionError(
        `Signal name ${JSON.stringify(signal)} of task "${name}" must match ${EVENT_NAME_PATTERN}.`,
        { task: name, signal },
      );
    }
    if (!isSchema(schema)) {
      throw new InvalidDefinitionError(`Signal "${signal}" of task "${name}" needs a zod schema.`, {
        task: name,
        signal,
      });
    }
  }
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new InvalidDefinitionError(`Task "${name}" has an invalid timeoutMs.`, { task: name });
  }
  return Object.freeze({
    kind: "taskwire.task",
    name,
    input: options.input,
    result: options.result,
    events: Object.freeze({ ...events }),
    signals: Object.freeze({ ...signals }),
    retry: resolveRetryPolicy(options.retry, DEFAULT_TASK_RETRY),
    timeoutMs: options.timeoutMs,
    concurrency: checkConcurrency(name, options.concurrency),
    run: options.run,
  });
}

/** Checks `concurrency` (positive integers) and returns a frozen copy. */
function checkConcurrency(task: string, concurrency: TaskConcurrency | undefined) {
  if (concurrency === undefined) return undefined;
  for (const field of ["max", "perOwner"] as const) {
    const value = concurrency[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new InvalidDefinitionError(
        `Task "${task}" has an invalid concurrency.${field}: use an integer ≥ 1.`,
        {
          task,
          field: `concurrency.${field}`,
        },
      );
    }
  }
  return Object.freeze({ max: concurrency.max, perOwner: concurrency.perOwner });
}

/** Throws unless `event` is a legal, non-reserved event name. */
export function assertEventName(task: string, event: string): void {
  if (!EVENT_NAME_PATTERN.test(event)) {
    throw new InvalidDefinitionError(
      `Event name ${JSON.stringify(event)} of task "${task}" must match ${EVENT_NAME_PATTERN}.`,
      {
        task,
        event,
      },
    );
  }
  if (RESERVED_EVENT_NAMES.includes(event)) {
    throw new InvalidDefinitionError(
      `Event name "${event}" of task "${task}" is reserved by the SSE bridge.`,
      { task, event },
    );
  }
}

/** Whether `value` is a task definition made by {@link defineTask}. */
export function isTaskDefinition(value: unknown): value is AnyTaskDefinition {
  return (
    typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "taskwire.task"
  );
}

function isSchema(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && typeof (value as z.ZodType).safeParse === "function";
}
