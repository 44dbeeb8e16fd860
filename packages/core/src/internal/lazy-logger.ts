import type { Level, Logger } from "pino";

/**
 * A pino child logger created on first use. `child()` serializes its bindings up front, and most runs
 * never log at an enabled level, so a run pays for its child only when it logs or reads `ctx.logger`.
 */
export class LazyLogger {
  readonly #base: Logger;
  readonly #bindings: Record<string, unknown>;
  #child: Logger | undefined;

  constructor(base: Logger, bindings: Record<string, unknown>) {
    this.#base = base;
    this.#bindings = bindings;
  }

  /** The child logger (created now if needed). */
  get logger(): Logger {
    this.#child ??= this.#base.child(this.#bindings);
    return this.#child;
  }

  debug(fields: object, message: string): void {
    this.#log("debug", fields, message);
  }

  info(fields: object, message: string): void {
    this.#log("info", fields, message);
  }

  warn(fields: object, message: string): void {
    this.#log("warn", fields, message);
  }

  error(fields: object, message: string): void {
    this.#log("error", fields, message);
  }

  #log(level: Level, fields: object, message: string): void {
    if ((this.#child ?? this.#base).isLevelEnabled(level)) this.logger[level](fields, message);
  }
}
