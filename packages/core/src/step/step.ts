import { InvalidDefinitionError } from "../errors/taskwire-error";
import type { StepOptions } from "./step-options";
import { tryGetStepScope } from "./step-scope";

/** A function wrapped by {@link step}: a checkpoint when called inside a running task. */
export type StepFunction<TArgs extends unknown[], TResult> = ((
  ...args: TArgs
) => Promise<Awaited<TResult>>) & {
  /** The step key prefix recorded in the WAL. */
  readonly stepName: string;
};

/**
 * Wraps a function as a durable checkpoint. Inside a running task the first execution's result is
 * appended to the WAL and a replay returns it without calling `fn`; repeated calls get keys by
 * occurrence (`name#0`, `name#1`). May be declared at module scope: binding to the running task happens
 * at call time. Outside a task (and inside another step's body) it is a plain call.
 * @example
 * const fetchRows = step("fetchRows", async (n: number) => db.rows(n));
 * const save = step(async function save(rows: Row[]) { … }); // key from fn.name
 */
export function step<TArgs extends unknown[], TResult>(
  name: string,
  fn: (...args: TArgs) => TResult,
  options?: StepOptions,
): StepFunction<TArgs, TResult>;
export function step<TArgs extends unknown[], TResult>(
  fn: (...args: TArgs) => TResult,
  options?: StepOptions,
): StepFunction<TArgs, TResult>;
export function step<TArgs extends unknown[], TResult>(
  nameOrFn: string | ((...args: TArgs) => TResult),
  fnOrOptions?: ((...args: TArgs) => TResult) | StepOptions,
  maybeOptions?: StepOptions,
): StepFunction<TArgs, TResult> {
  const named = typeof nameOrFn === "string";
  const fn = (named ? fnOrOptions : nameOrFn) as ((...args: TArgs) => TResult) | undefined;
  const options = (named ? maybeOptions : fnOrOptions) as StepOptions | undefined;
  if (typeof fn !== "function") throw new InvalidDefinitionError("step() needs a function to wrap.");
  const name = named ? nameOrFn : fn.name;
  assertStepName(name);
  const wrapped = (...args: TArgs): Promise<Awaited<TResult>> => {
    const scope = tryGetStepScope();
    if (!scope) return Promise.resolve().then(() => fn(...args)) as Promise<Awaited<TResult>>;
    return scope.runStep(name, () => fn(...args), options);
  };
  return Object.assign(wrapped, { stepName: name });
}

/** Throws a clear error for an empty (anonymous) or malformed step name. */
export function assertStepName(name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidDefinitionError(
      'step(fn) needs a named function: two anonymous steps would collide in the WAL. Use step("name", fn) or step(async function name() {…}).',
    );
  }
  if (name.length > 200 || name.includes("#")) {
    throw new InvalidDefinitionError(
      `Step name ${JSON.stringify(name)} is invalid: at most 200 characters and no "#".`,
      {
        step: name,
      },
    );
  }
}
