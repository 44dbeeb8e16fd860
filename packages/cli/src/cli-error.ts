/** Exit codes of the `taskwire` command. */
export const ExitCode = { OK: 0, ERROR: 1, USAGE: 2 } as const;

/**
 * An error the CLI reports as one line on stderr (never a stack), exiting with `exitCode`: 1 for a
 * failed operation (missing database, unknown task…), 2 for a usage mistake.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.ERROR) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage mistake (exit code 2), such as two databases or none. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.USAGE);
}

/** The first line of an error's message (never its stack), for stderr. */
export function oneLine(error: unknown): string {
  let message = "";
  if (error instanceof AggregateError && error.message === "") message = oneLine(error.errors[0]);
  else if (error instanceof Error) message = error.message || (error as { code?: string }).code || error.name;
  else message = String(error);
  return message.replace(/\s*\n\s*/g, " ").trim() || "Unknown error";
}
