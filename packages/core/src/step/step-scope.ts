import { AsyncLocalStorage } from "node:async_hooks";
import type { StepOptions } from "./step-options";

/** What `step()` calls into while a task body runs (implemented by the engine's run context). */
export interface StepScope {
  runStep<T>(name: string, fn: () => T | Promise<T>, options?: StepOptions): Promise<Awaited<T>>;
}

const scope = new AsyncLocalStorage<StepScope | null>();

/** Runs `fn` with `runner` as the active step scope (`null` = inside a step body: no nested checkpoints). */
export function runInStepScope<T>(runner: StepScope | null, fn: () => T): T {
  return scope.run(runner, fn);
}

/** The active step scope, `null` inside a step body, `undefined` outside any task. */
export function tryGetStepScope(): StepScope | null | undefined {
  return scope.getStore();
}
