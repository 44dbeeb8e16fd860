import { AsyncLocalStorage } from "node:async_hooks";
import type { StepOptions } from "./step-options";

/** What `step()` calls into while a task body runs (implemented by the engine's run context). */
export interface StepScope {
  runStep<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<Awaited<T>>;
}

/**
 * Marks code running inside one step body: no nested checkpoints there, and the body's emits are
 * counted (a replay that skips the body skips that many emit positions). One slot holds both the scope
 * and this marker, so a step enters one AsyncLocalStorage context, not two.
 */
export class StepBody {
  emits = 0;
}

const scope = new AsyncLocalStorage<StepScope | StepBody>();

/** Runs `fn` with `runner` as the active step scope, or inside a step body (no nested checkpoints). */
export function runInStepScope<T>(runner: StepScope | StepBody, fn: () => T): T {
  return scope.run(runner, fn);
}

/** The active step scope, `null` inside a step body, `undefined` outside any task. */
export function tryGetStepScope(): StepScope | null | undefined {
  const current = scope.getStore();
  return current instanceof StepBody ? null : current;
}

/** The step body being executed, if any. */
export function tryGetStepBody(): StepBody | undefined {
  const current = scope.getStore();
  return current instanceof StepBody ? current : undefined;
}
