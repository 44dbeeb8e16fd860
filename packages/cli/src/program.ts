import { Command } from "commander";
import { cancelCommand } from "./commands/cancel";
import type { CommandContext } from "./commands/context";
import { eventsCommand } from "./commands/events";
import { listCommand } from "./commands/list";
import { retryCommand } from "./commands/retry";
import { showCommand } from "./commands/show";
import { signalCommand } from "./commands/signal";

const FOOTER = `
Database: --db <file> (SQLite) or --pg <url> (PostgreSQL), else TASKWIRE_DB / TASKWIRE_PG_URL; the
schema is --pg-schema, else TASKWIRE_PG_SCHEMA, else "taskwire". Nothing is ever created: a missing
file or schema is an error.
Owners, identity, inputs, results, step outputs and event payloads print as [redacted] unless
--show-sensitive. --json prints exactly one JSON document (with events --follow: one per line).
Exit codes: 0 ok, 1 error (one line on stderr), 2 usage.`;

/** The `taskwire` command tree (a new one per run: commander keeps parse state on it). */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command("taskwire")
    .description("Inspect and operate Taskwire tasks in a SQLite file or a PostgreSQL schema.")
    .option("--db <path>", "SQLite database file (env TASKWIRE_DB)")
    .option("--pg <url>", "PostgreSQL URL (env TASKWIRE_PG_URL)")
    .option("--pg-schema <name>", 'PostgreSQL schema (env TASKWIRE_PG_SCHEMA) (default: "taskwire")')
    .option("--json", "machine-readable output: one JSON document on stdout")
    .option("--show-sensitive", "show owners, identity, inputs, results and event payloads")
    .addHelpText("after", FOOTER)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    });
  const tasks = program
    .command("tasks")
    .description("List, inspect, follow, cancel, retry and signal tasks.");
  for (const command of [
    listCommand,
    showCommand,
    eventsCommand,
    cancelCommand,
    retryCommand,
    signalCommand,
  ]) {
    // addCommand does not inherit settings (exitOverride, output, help) as command() does: copy them.
    tasks.addCommand(command(ctx).copyInheritedSettings(tasks));
  }
  return program;
}
