import { encode, isTerminalStatus } from "@taskwire/core/store";
import { Command } from "commander";
import { CliError } from "../cli-error";
import type { CommandContext } from "./context";
import { parseJsonArgument } from "./parsers";

/** `taskwire tasks signal <id> <name> <json>`: delivers a signal; the task validates it when it consumes it. */
export function signalCommand(ctx: CommandContext): Command {
  return new Command("signal")
    .description(
      "Deliver a signal to a task (what ctx.waitForSignal(name) receives). The CLI does not load the app's code, so it cannot check the payload against the task's schema: the task validates it when it consumes it, skipping (and logging) a payload its schema rejects.",
    )
    .argument("<id>", "task id")
    .argument("<name>", "signal name, as declared in the task's `signals`")
    .argument("<json>", "payload as JSON, e.g. '{\"approved\":true}'", parseJsonArgument)
    .option(
      "--idempotency-key <key>",
      "deliver at most once per task with this key (a repeat is reported, not re-sent)",
    )
    .action(
      (id: string, name: string, payload: unknown, options: { idempotencyKey?: string }, command: Command) =>
        ctx.withSession(command, async ({ session, options: global, print, printJson }) => {
          if (name.trim() === "") throw new CliError("The signal name is empty.");
          const task = await session.store.getTask(id);
          if (!task) throw new CliError(`Task ${id} was not found.`);
          if (isTerminalStatus(task.status)) {
            throw new CliError(`Task ${id} is already ${task.status}; a finished task takes no signals.`);
          }
          // TaskFinishedError if it finished meanwhile (exit 1, its message).
          const delivery = await session.store.deliverSignal({
            taskId: id,
            name,
            payload: encode(payload),
            idempotencyKey: options.idempotencyKey,
            now: Date.now(),
          });
          const result = {
            taskId: id,
            name,
            index: delivery.index,
            duplicate: delivery.duplicate,
            status: delivery.task.status,
          };
          if (global.json) return printJson(result);
          print(
            delivery.duplicate
              ? `Signal "${name}" was already delivered to task ${id} with this idempotency key (#${delivery.index}); nothing new was sent.`
              : `Signal "${name}" delivered to task ${id} (#${delivery.index} of that name; task now ${delivery.task.status}). The task validates the payload when it consumes it (an invalid one is skipped and logged).`,
          );
        }),
    );
}
