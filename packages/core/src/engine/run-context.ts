import { type Clock, sleepOn } from "../clock/clock";
import { decode, encode } from "../codec/codec";
import {
  InvalidDefinitionError,
  isRetriable,
  isTaskwireError,
  NonDeterminismError,
  StoreConflictError,
} from "../errors/taskwire-error";
import type { TaskUser } from "../identity/task-user";
import type { LazyAbort } from "../internal/lazy-abort";
import type { LazyLogger } from "../internal/lazy-logger";
import type { TaskwireMetrics } from "../observe/metrics";
import type { RunTrace } from "../observe/tracing";
import { assertStepName } from "../step/step";
import type { StepOptions } from "../step/step-options";
import { runInStepScope, StepBody, type StepScope, tryGetStepBody } from "../step/step-scope";
import type { Lease, StepRecord, TaskHistory, TaskStore } from "../store/task-store";
import type { AnyTaskDefinition, TypedTaskContext } from "../task/define-task";
import { DEFAULT_STEP_RETRY, resolveRetryPolicy, retryDelayMs } from "../task/retry-policy";
import { parseWith } from "../task/validate";
import { type FlowHost, type SpawnOptions, sleepUntil, spawn, waitForSignal } from "./flows";
import { Suspension, type WaitRequest } from "./suspension";
import type { TaskLike } from "./task-ref";

const RESOLVED: Promise<void> = Promise.resolve();

/** The checkpoint lookup of a run without history (read only). */
const NO_STEPS: ReadonlyMap<number, StepRecord> = new Map();

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** What a run context needs from the engine. */
export interface RunContextDeps {
  store: TaskStore;
  lease: Lease;
  definition: AnyTaskDefinition;
  attempt: number;
  history: TaskHistory;
  /** Stop flag of the run; its `AbortSignal` (`ctx.signal`) is created only when read. */
  signal: LazyAbort;
  user: TaskUser;
  logger: LazyLogger;
  clock: Clock;
  /** Called when a fenced write shows the lease is gone: the run must stop at once. */
  onLeaseLost: (error: unknown) => void;
  /** Step durations and child starts are counted here when metrics are on. */
  metrics?: TaskwireMetrics | undefined;
  /** The run's span when tracing is on: executed steps get child spans. */
  trace?: RunTrace | undefined;
}

/**
 * The state of one run of a task body: step positions and occurrences, emit positions, replay lookups and
 * the ordered chain of event appends. Implements `ctx` and the scope module-level `step()` binds to.
 */
export class RunContext implements StepScope {
  readonly api: TypedTaskContext;
  /** Waits of this run that could not complete: the runner settles the task `waiting` from it. */
  // Made on the first flow primitive: most runs never spawn or wait, and these are per-run allocations.
  #suspension: Suspension | undefined;
  #flowHostValue: FlowHost | undefined;
  #onParked: ((request: WaitRequest) => void) | undefined;
  #deps: RunContextDeps;
  #steps: ReadonlyMap<number, StepRecord>;
  /** When the latest checkpoint this run passed (replayed or recorded) was recorded: where a wait began. */
  #lastAt: number | undefined;
  /** Names of the task's emitted events so far (recorded + appended by this run), by emit position. */
  #eventNames: string[];
  #stepPosition = 0;
  #emitPosition = 0;
  #occurrences = new Map<string, number>();
  #emitChain: Promise<void> = RESOLVED;
  /** Appends queued on the chain and not yet finished; with no error, 0 means nothing to flush. */
  #emitsInFlight = 0;
  #emitError: unknown;
  #closed = false;

  constructor(deps: RunContextDeps) {
    this.#deps = deps;
    this.#steps =
      deps.history.steps.length === 0 ? NO_STEPS : new Map(deps.history.steps.map((s) => [s.position, s]));
    this.#eventNames = [...deps.history.eventNames];
    this.api = Object.freeze({
      taskId: deps.lease.taskId,
      name: deps.definition.name,
      attempt: deps.attempt,
      get signal() {
        return deps.signal.signal;
      },
      user: deps.user,
      get logger() {
        return deps.logger.logger;
      },
      emit: (name: string, data: unknown) => this.emit(name, data),
      step: <T>(name: string, fn: () => T | Promise<T>, options?: StepOptions) =>
        this.runStep(name, fn, options),
      spawn: (task: TaskLike, input: unknown, options?: SpawnOptions) =>
        this.#flow(() => spawn(this.#flowHost, task, input, options)),
      sleep: (name: string, ms: number) =>
        this.#flow(() => sleepUntil(this.#flowHost, name, deps.clock.now() + ms)),
      sleepUntil: (name: string, at: Date | number) =>
        this.#flow(() => sleepUntil(this.#flowHost, name, typeof at === "number" ? at : at.getTime())),
      waitForSignal: (name: string, options?: { timeoutMs?: number }) =>
        this.#flow(() => waitForSignal(this.#flowHost, name, options)),
    }) as unknown as TypedTaskContext;
  }

  /** Calls `onParked` with the wait if the body parks (see `Suspension.whenParked`). */
  whenParked(onParked: (request: WaitRequest) => void): void {
    this.#onParked = onParked;
    this.#suspension?.whenParked(onParked);
  }

  get #flowHost(): FlowHost {
    if (this.#flowHostValue) return this.#flowHostValue;
    const deps = this.#deps;
    const suspension = new Suspension();
    if (this.#onParked) suspension.whenParked(this.#onParked);
    this.#suspension = suspension;
    this.#flowHostValue = {
      taskId: deps.lease.taskId,
      store: deps.store,
      lease: deps.lease,
      clock: deps.clock,
      definition: deps.definition,
      suspension,
      logger: deps.logger,
      checkpoint: (name) => this.#checkpoint(name),
      record: (position, key, output, waited) => this.#record(position, key, output, waited),
      metrics: deps.metrics,
      throwIfStopped: () => this.#throwIfStopped(),
    };
    return this.#flowHostValue;
  }

  /** Runs a flow primitive: not inside a step body (a replay that skips the body could not replay it). */
  #flow<T>(fn: () => Promise<T>): Promise<T> {
    if (tryGetStepBody()) {
      return Promise.reject(
        new InvalidDefinitionError("spawn, sleep and waitForSignal cannot be called inside a step body."),
      );
    }
    return fn();
  }

  /** Takes the next checkpoint position for `name`; the recorded output there, checked against the key. */
  #checkpoint(name: string): { position: number; key: string; recorded: string | undefined } {
    const occurrence = this.#occurrences.get(name) ?? 0;
    this.#occurrences.set(name, occurrence + 1);
    const key = `${name}#${occurrence}`;
    const position = this.#stepPosition++;
    const recorded = this.#steps.get(position);
    if (recorded && recorded.key !== key)
      throw new NonDeterminismError(this.#deps.lease.taskId, position, key, recorded.key);
    if (recorded) this.#lastAt = recorded.at;
    return { position, key, recorded: recorded?.output };
  }

  /**
   * Records a flow checkpoint (no body, no emits of its own) once earlier emits are durable. The checkpoint
   * of a wait (`waited`: a child's result, a signal) starts where the previous checkpoint was recorded, so
   * a timeline shows how long the body waited, also across a park and a resume on another node.
   */
  async #record(position: number, key: string, output: string, waited = false): Promise<void> {
    const now = this.#deps.clock.now();
    const startedAt = waited && this.#lastAt !== undefined ? Math.min(this.#lastAt, now) : now;
    if (this.emitsPending) await this.flushEmits();
    this.#throwIfStopped();
    try {
      const at = this.#deps.clock.now();
      await this.#deps.store.appendStep(this.#deps.lease, {
        position,
        key,
        output,
        emits: 0,
        startedAt,
        at,
        attempts: 1,
      });
      this.#lastAt = at;
    } catch (error) {
      this.#deps.onLeaseLost(error);
      throw error;
    }
  }

  /** Runs `fn` (the task body) with this context as the active step scope. */
  enter<T>(fn: () => T): T {
    return runInStepScope(this, fn);
  }

  async runStep<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<Awaited<T>> {
    assertStepName(name);
    // Inside another step's body a step is a plain call, for `ctx.step` as for `step()`: a replay that
    // skips the outer body must not find a checkpoint of its own at the next position.
    if (tryGetStepBody()) return await fn();
    this.#throwIfStopped();
    const occurrence = this.#occurrences.get(name) ?? 0;
    this.#occurrences.set(name, occurrence + 1);
    const key = `${name}#${occurrence}`;
    const position = this.#stepPosition++;
    const recorded = this.#steps.get(position);
    if (recorded) {
      if (recorded.key !== key)
        throw new NonDeterminismError(this.#deps.lease.taskId, position, key, recorded.key);
      this.#emitPosition += recorded.emits;
      this.#lastAt = recorded.at;
      return decode<Awaited<T>>(recorded.output);
    }
    const trace = this.#deps.trace;
    if (trace) return await trace.step(key, () => this.#execute(key, position, fn, options));
    return await this.#execute(key, position, fn, options);
  }

  /** Runs a step body that has no checkpoint yet (with its in-step retries) and records its result. */
  async #execute<T>(
    key: string,
    position: number,
    fn: () => T | Promise<T>,
    options: StepOptions | undefined,
  ): Promise<Awaited<T>> {
    const policy = resolveRetryPolicy(options?.retry, DEFAULT_STEP_RETRY);
    const emitStart = this.#emitPosition;
    const startedAt = this.#deps.clock.now();
    for (let attempt = 1; ; attempt++) {
      const counter = new StepBody();
      try {
        const returned = runInStepScope(counter, fn);
        // A synchronous body needs no await (with async hooks on, each await allocates promises).
        const value = isThenable(returned) ? await returned : returned;
        const output = encode(value);
        // Events the body emitted become durable before its checkpoint, so a checkpoint never
        // claims emits the WAL does not have.
        if (this.emitsPending) await this.flushEmits();
        this.#throwIfStopped();
        // The checkpoint covers every event durable since the step began, including those an earlier
        // failed attempt (or a crashed run) of this body appended beyond what this attempt re-emitted:
        // a replay skips them all, and the task's next emit goes after them.
        const emits = Math.max(counter.emits, this.#eventNames.length - emitStart);
        this.#emitPosition = emitStart + emits;
        const step = {
          position,
          key,
          output,
          emits,
          startedAt,
          at: this.#deps.clock.now(),
          attempts: attempt,
        };
        const append = () => this.#deps.store.appendStep(this.#deps.lease, step);
        await (this.#suspension ? this.#suspension.track(append) : append());
        this.#lastAt = step.at;
        const durationMs = step.at - startedAt;
        this.#deps.metrics?.stepCompleted(this.#deps.definition.name, durationMs);
        this.#deps.logger.debug(
          { event: "task.step_completed", step: key, position, attempts: attempt, durationMs },
          "step completed",
        );
        // Return what a replay would return, so first run and replay see identical values.
        return decode<Awaited<T>>(output);
      } catch (error) {
        this.#throwIfStopped();
        if (isTaskwireError(error, "STORE_CONFLICT")) {
          this.#deps.onLeaseLost(error);
          throw error;
        }
        if (!isRetriable(error) || attempt >= policy.maxAttempts) throw error;
        const delay = retryDelayMs(policy, attempt + 1);
        this.#deps.logger.warn(
          { event: "task.step_retry_scheduled", step: key, attempt, delayMs: delay, err: error },
          "step failed, retrying",
        );
        await sleepOn(this.#deps.clock, delay, this.#deps.signal.signal);
        // A retried body re-emits from the same positions; positional dedupe drops what is already durable.
        this.#emitPosition = emitStart;
      }
    }
  }

  emit(name: string, data: unknown): void {
    if (this.#closed)
      throw new InvalidDefinitionError(`ctx.emit("${name}") was called after the task body returned.`);
    const definition = this.#deps.definition;
    const schema = Object.hasOwn(definition.events, name) ? definition.events[name] : undefined;
    if (!schema) {
      throw new InvalidDefinitionError(`Task "${definition.name}" declares no event "${name}".`, {
        task: definition.name,
        event: name,
      });
    }
    const parsed = parseWith(schema, data, `event "${name}" of task "${definition.name}"`);
    this.#throwIfStopped();
    const position = this.#emitPosition++;
    const counter = tryGetStepBody();
    if (counter) counter.emits += 1;
    if (position < this.#eventNames.length) {
      const recorded = this.#eventNames[position];
      if (recorded !== name) {
        throw new NonDeterminismError(this.#deps.lease.taskId, position, name, String(recorded), "event");
      }
      return; // already in the WAL: a replay never emits twice
    }
    if (position !== this.#eventNames.length) {
      // A gap would mean an earlier position was skipped; that cannot be appended without a hole.
      throw new StoreConflictError(this.#deps.lease.taskId, `emit position ${position} is ahead of the WAL`);
    }
    // The run is parking (a wait could not complete): this emit is appended by the run that resumes here.
    if (this.#suspension?.requested) return;
    this.#eventNames.push(name);
    const record = { position, name, data: encode(parsed), at: this.#deps.clock.now() };
    this.#emitsInFlight += 1;
    this.#emitChain = this.#emitChain.then(async () => {
      try {
        if (this.#emitError === undefined) await this.#deps.store.appendEvent(this.#deps.lease, record);
      } catch (error) {
        this.#emitError = error;
        this.#deps.onLeaseLost(error);
      } finally {
        this.#emitsInFlight -= 1;
      }
    });
  }

  /** Whether {@link flushEmits} has anything to wait for or report. */
  get emitsPending(): boolean {
    return this.#emitsInFlight > 0 || this.#emitError !== undefined;
  }

  /**
   * Waits until every emitted event is durable; rethrows the first append failure. Returns a settled
   * promise at once when nothing is in flight (the common case between steps that emit nothing).
   */
  flushEmits(): Promise<void> {
    if (this.#emitsInFlight === 0) {
      return this.#emitError === undefined ? RESOLVED : Promise.reject(this.#emitError);
    }
    return this.#emitChain.then(() => {
      if (this.#emitError !== undefined) throw this.#emitError;
    });
  }

  /** Marks the body finished: later emits are programming errors. */
  close(): void {
    this.#closed = true;
  }

  #throwIfStopped(): void {
    if (this.#deps.signal.aborted) throw this.#deps.signal.reason;
  }
}
