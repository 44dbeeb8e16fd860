import { Command } from "commander";
import type { CommandContext } from "./context";

const SAYS = {
  cancelled: (id: string) => `Task ${id} cancelled.`,
  requested: (id: string, status?: string) =>
    `Cancel requested for task ${id} (${status}): its worker stops it, after cancelling its active children.`,
  already_requested: (id: string, status?: string) =>
    `A cancel was already requested for task ${id} (${status}).`,
  already_finished: (id: string, status?: string) => `Task ${id} is already ${status}; nothing to cancel.`,
  not_found: (id: string) => `Task ${id} was not found.`,
};

/** `taskwire tasks cancel <id>`: requests cancellation of a task and its active children. */
export function cancelCommand(ctx: CommandContext): Command {
  return new Command("cancel")
    .description("Cancel a task and its active children (a finished task is left as it is).")
    .argument("<id>", "task id")
    .action((id: string, _options: unknown, command: Command) =>
      ctx.withSession(command, async ({ session, options, print, printJson }) => {
        // Outside any user context the CLI is the service principal, which may cancel every task.
        const taskflow = await session.taskflow();
        const result = await taskflow.cancel(id);
        if (options.json) return printJson(result);
        print(SAYS[result.outcome](id, result.status));
      }),
    );
}
