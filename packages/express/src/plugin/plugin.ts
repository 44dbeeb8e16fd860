import type { ServerResponse } from "node:http";
import {
  type DefinitionOf,
  type InferTaskInput,
  runInUserContext,
  type Taskflow,
  type TaskLike,
} from "@taskwire/core";
import type { Request, Router } from "express";
import { type ExecuteTaskResult, type ExecuteTaskSettings, executeTask } from "../bridge/execute-task";
import type { SseBridge } from "../bridge/sse-bridge";

/** Internal: how `createTaskwireApp` hands a plugin its bridge. */
export const MOUNT: unique symbol = Symbol("taskwire.plugin.mount");

/** Plugin names become a path segment (`/api/<name>`); `tasks` is the task router's. */
export const PLUGIN_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Methods a user-scoped proxy leaves alone (they are about the plugin, not about a caller). */
const LIFECYCLE: ReadonlySet<PropertyKey> = new Set([
  "constructor",
  "setup",
  "shutdown",
  "injectRoutes",
  "asUser",
]);

/** Names of the lifecycle methods {@link Plugin.asUser} does not wrap. */
export type PluginLifecycleKey = "setup" | "shutdown" | "injectRoutes" | "asUser";

/**
 * A plugin as seen through `asUser(req)`: every other method runs inside the caller's user context and
 * returns a promise (resolving the user may be asynchronous).
 */
export type UserScoped<T> = {
  [K in keyof T]: K extends PluginLifecycleKey
    ? T[K]
    : T[K] extends (...args: infer A) => infer R
      ? (...args: A) => Promise<Awaited<R>>
      : T[K];
};

/**
 * `input` of `executeTask`: typed by the task when the argument's type is known, and `unknown` accepted
 * for request bodies (the task's zod schema validates at run time either way).
 */
export type TaskInputArg<T extends TaskLike, TArg> = TArg &
  (unknown extends TArg ? unknown : InferTaskInput<DefinitionOf<T>>);

/**
 * Base class of Taskwire plugins: register tasks in `setup()`, add routes in `injectRoutes(router)`
 * (mounted at `<basePath>/<name>`), and stream runs with `this.executeTask(res, task, input)`.
 * @example
 * class ReportsPlugin extends Plugin {
 *   readonly name = "reports";
 *   override setup() { this.taskflow.task(generateReport); }
 *   override injectRoutes(router: express.Router) {
 *     router.post("/generate", (req, res) => this.asUser(req).generate(res, req.body));
 *   }
 *   async generate(res: express.Response, body: unknown) {
 *     await this.executeTask(res, generateReport, body);
 *   }
 * }
 */
export abstract class Plugin {
  /** Unique name; the plugin's routes live under `<basePath>/<name>`. */
  abstract readonly name: string;
  #bridge: SseBridge | undefined;

  /** The app's taskflow; available from `setup()` on. */
  get taskflow(): Taskflow {
    return this.#requireBridge().taskflow;
  }

  /** Called once when the app mounts the plugin (register tasks here). */
  setup(): void | Promise<void> {}

  /** Adds the plugin's routes; the router is mounted at `<basePath>/<name>`. */
  injectRoutes(_router: Router): void {}

  /** Called once on graceful shutdown, before the taskflow shuts down. */
  shutdown(): void | Promise<void> {}

  /**
   * A proxy of this plugin whose method calls run as the request's user (resolved through the app's
   * `resolveUser`); a request without an identity rejects with `UnauthenticatedError` (401), never
   * falling back to the service. Lifecycle methods are not wrapped.
   * @example router.post("/run", (req, res) => this.asUser(req).run(res, req.body));
   */
  asUser(req: Request): UserScoped<this> {
    const bridge = this.#requireBridge();
    const target = this;
    let user: ReturnType<SseBridge["resolveUser"]> | undefined;
    return new Proxy(this, {
      get(self, prop) {
        // Read with the plugin itself as receiver: getters and methods use #private fields.
        const value: unknown = Reflect.get(self, prop, self);
        if (typeof value !== "function") return value;
        if (typeof prop === "symbol" || LIFECYCLE.has(prop) || Object.hasOwn(Object.prototype, prop))
          return value.bind(target);
        return (...args: unknown[]) => {
          user ??= bridge.resolveUser(req);
          return user.then((resolved) => runInUserContext(resolved, () => value.apply(target, args)));
        };
      },
    }) as unknown as UserScoped<this>;
  }

  /**
   * Starts `task` as the current user (set by `asUser`; a bare call runs as the service principal) and
   * streams its run to `res` over SSE, from `ready` to the terminal frame. Identity never comes from
   * `input` or `settings`. Input errors are answered as JSON 400 before any SSE header; the promise
   * never rejects.
   * @example await this.asUser(req).executeTask(res, generateReport, req.body, { idempotencyKey: key });
   */
  executeTask<T extends TaskLike, TArg>(
    res: ServerResponse,
    task: T,
    input: TaskInputArg<T, TArg>,
    settings?: ExecuteTaskSettings,
  ): Promise<ExecuteTaskResult> {
    return executeTask(this.#requireBridge(), { res, task, input, settings });
  }

  /** @internal Attaches the app's bridge; called by `createTaskwireApp` before `setup()`. */
  [MOUNT](bridge: SseBridge): void {
    if (this.#bridge && this.#bridge !== bridge)
      throw new Error(`Plugin "${this.name}" is already mounted in another Taskwire app.`);
    this.#bridge = bridge;
  }

  #requireBridge(): SseBridge {
    if (!this.#bridge)
      throw new Error(
        `Plugin "${this.name}" is not mounted yet: this.taskflow, asUser and executeTask work from setup() on ` +
          "(mount the plugin with createTaskwireApp).",
      );
    return this.#bridge;
  }
}
