import { CommanderError } from "commander";
import { CliError, ExitCode, oneLine } from "./cli-error";
import { commandContext } from "./commands/context";
import type { CliIo } from "./io";
import { buildProgram } from "./program";

/**
 * Runs the `taskwire` command line on `argv` (the arguments after the program name) and resolves to
 * its exit code: 0 ok, 1 error (one line on `io.stderr`, never a stack), 2 usage. Never exits the process.
 * @example
 * process.exitCode = await run(["tasks", "list", "--db", "data/tasks.db"], { stdout: process.stdout, stderr: process.stderr });
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(commandContext(io));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version asked for).
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return ExitCode.OK;
      return ExitCode.USAGE;
    }
    const exitCode = error instanceof CliError ? error.exitCode : ExitCode.ERROR;
    io.stderr.write(`error: ${oneLine(error)}\n`);
    return exitCode;
  }
}
