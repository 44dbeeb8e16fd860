import { AsyncLocalStorage } from "node:async_hooks";
import { globalSlot } from "../internal/global-slot";
import type { StepOptions } from "./step-options";

/** What `step()` calls into while a task body runs (implemented by the engine's run context). */
export interface StepScope {
  runStep<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<Awaited<T>>;
}

// A brand, not `instanceof`: a StepBody created by one copy of @taskwire/core must be recognised by
// another copy's `step()` (they share the slot below).
const STEP_BODY: unique symbol = Symbol.for("taskwire.stepBody");

/**
 * Marks code running inside one step body: no nested checkpoints there, and the body's emits are
 * counted (a replay that skips the body skips that many emit positions). One slot holds both the scope
 * and this marker, so a step enters one AsyncLocalStorage context, not two.
 */
export class StepBody {
  readonly [STEP_BODY] = true;
  emits = 0;
}

// On globalThis, shared by every copy of @taskwire/core in the process (see globalSlot): a `step()`
// imported from another copy than the engine's must still find the running task.
const scope = globalSlot("taskwire.stepScope", () => new AsyncLocalStorage<StepScope | StepBody>());

function isStepBody(value: StepScope | StepBody | undefined): value is StepBody {
  return value !== undefined && (value as Partial<StepBody>)[STEP_BODY] === true;
}

/** Runs `fn` with `runner` as the active step scope, or inside a step body (no nested checkpoints). */
export function runInStepScope<T>(runner: StepScope | StepBody, fn: () => T): T {
  return scope.run(runner, fn);
}

/** The active step scope, `null` inside a step body, `undefined` outside any task. */
export function tryGetStepScope(): StepScope | null | undefined {
  const current = scope.getStore();
  return isStepBody(current) ? null : current;
}

/** The step body being executed, if any. */
export function tryGetStepBody(): StepBody | undefined {
  const current = scope.getStore();
  return isStepBody(current) ? current : undefined;
}
