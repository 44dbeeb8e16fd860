import { Command } from "commander";
import { CliError } from "../cli-error";
import { taskView } from "../output/views";
import type { CommandContext } from "./context";

/** `taskwire tasks retry <id>`: puts a failed task back to `queued` (exit 1 for any other status). */
export function retryCommand(ctx: CommandContext): Command {
  return new Command("retry")
    .description(
      "Re-queue a failed task: a worker of the app resumes it from its last checkpoint. Any other status is refused (exit 1).",
    )
    .argument("<id>", "task id")
    .action((id: string, _options: unknown, command: Command) =>
      ctx.withSession(command, async ({ session, options, show, print, printJson }) => {
        const taskflow = await session.taskflow();
        await taskflow.retry(id); // NotResumableError (exit 1) unless the task is failed
        const record = await session.store.getTask(id);
        if (!record) throw new CliError(`Task ${id} was not found.`);
        if (options.json) return printJson(taskView(record, show));
        print(
          `Task ${id} re-queued (attempt ${record.attempt}); a worker of the app resumes it from its last checkpoint.`,
        );
      }),
    );
}
