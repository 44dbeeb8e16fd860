import type { Command } from "commander";
import type { CliIo } from "../io";
import { jsonText } from "../output/format";
import { MIN_WIDTH } from "../output/table";
import { openSession, type Session } from "../session/open-session";
import { resolveTarget, type TargetOptions } from "../session/target";

/** The options every command accepts (declared on the program). */
export interface GlobalOptions extends TargetOptions {
  json?: boolean;
  showSensitive?: boolean;
}

/** What a command's action gets: its options, output helpers and an opened store. */
export interface CommandRun {
  session: Session;
  options: GlobalOptions;
  /** Whether sensitive values are shown (`--show-sensitive`). */
  show: boolean;
  /** Writes `text` and a newline to stdout. */
  print(text: string): void;
  /** Writes one JSON document (or one NDJSON line) to stdout. */
  printJson(value: unknown): void;
  /** Table width: the terminal's, at least 80 columns. */
  width: number;
  /** Ends a `--follow`. */
  signal: AbortSignal | undefined;
}

/** Shared by every command: the io, and running an action against the chosen store. */
export interface CommandContext {
  io: CliIo;
  /** Opens the store named by `command`'s global options, runs `action`, and closes the store on every path. */
  withSession(command: Command, action: (run: CommandRun) => Promise<void>): Promise<void>;
}

/** The context `run` builds for one invocation. */
export function commandContext(io: CliIo): CommandContext {
  const env = io.env ?? process.env;
  const print = (text: string) => io.stdout.write(`${text}\n`);
  return {
    io,
    async withSession(command, action) {
      const options = command.optsWithGlobals<GlobalOptions>();
      const session = await openSession(resolveTarget(options, env));
      try {
        await action({
          session,
          options,
          show: options.showSensitive === true,
          print,
          printJson: (value) => print(jsonText(value)),
          width: Math.max(MIN_WIDTH, io.stdout.columns ?? MIN_WIDTH),
          signal: io.signal,
        });
      } finally {
        await session.close();
      }
    },
  };
}
