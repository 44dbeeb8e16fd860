import type { Logger } from "pino";
import { DuplicateTaskError, UnknownTaskError } from "../errors/taskwire-error";
import { hasRunningLimits, type RunningLimits, type TaskConcurrency } from "../store/running-limits";
import { type AnyTaskDefinition, isTaskDefinition } from "../task/define-task";
import type { TaskLike, TaskRef } from "./task-ref";

/** A registered task definition. */
export interface TaskRegistration<TDef extends AnyTaskDefinition = AnyTaskDefinition> {
  readonly name: string;
  readonly definition: TDef;
  readonly ref: TaskRef<TDef>;
}

/** Holds the task definitions this process can start and run. */
export class TaskRegistry {
  #byName = new Map<string, TaskRegistration>();
  /** {@link runningLimits}, rebuilt after a registration; null when nothing is capped. */
  #running: RunningLimits | null | undefined;
  readonly #production: boolean;
  readonly #logger: Logger;

  readonly #global: Pick<RunningLimits, "max" | "perOwner">;

  /** `global`: the taskflow's own running caps (`limits.maxRunning`, `maxRunningPerOwner`). */
  constructor(production: boolean, logger: Logger, global: Pick<RunningLimits, "max" | "perOwner"> = {}) {
    this.#production = production;
    this.#logger = logger;
    this.#global = global;
  }

  register<TDef extends AnyTaskDefinition>(definition: TDef): TaskRef<TDef> {
    if (!isTaskDefinition(definition))
      throw new TypeError("taskflow.task() expects a definition made by defineTask().");
    const existing = this.#byName.get(definition.name);
    if (existing) {
      if (existing.definition === definition) return existing.ref as TaskRef<TDef>;
      if (this.#production) throw new DuplicateTaskError(definition.name);
      this.#logger.warn(
        { event: "task.registration_replaced", task: definition.name },
        "task definition replaced",
      );
    }
    const ref = Object.freeze({ name: definition.name, definition }) as unknown as TaskRef<TDef>;
    this.#byName.set(definition.name, { name: definition.name, definition, ref });
    this.#running = undefined;
    return ref;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  tryGet(name: string): TaskRegistration | undefined {
    return this.#byName.get(name);
  }

  get(name: string): TaskRegistration {
    const registration = this.#byName.get(name);
    if (!registration) throw new UnknownTaskError(name);
    return registration;
  }

  /** Resolves a definition or ref to its registration (the definition must be registered). */
  resolve(task: TaskLike | string): TaskRegistration {
    const name = typeof task === "string" ? task : task.name;
    const registration = this.get(name);
    return registration;
  }

  /**
   * The running caps a claim of this registry's tasks carries: the taskflow's global ones plus each
   * definition's `concurrency`; undefined when none is set.
   */
  runningLimits(): RunningLimits | undefined {
    if (this.#running === undefined) {
      const byName: Record<string, TaskConcurrency> = {};
      for (const [name, { definition }] of this.#byName)
        if (definition.concurrency) byName[name] = definition.concurrency;
      const limits: RunningLimits = { ...this.#global, byName };
      this.#running = hasRunningLimits(limits) ? limits : null;
    }
    return this.#running ?? undefined;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }
}
