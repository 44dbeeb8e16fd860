import type { TaskStatus } from "@taskwire/core";
import { Command } from "commander";
import { age } from "../output/format";
import { sensitive } from "../output/redact";
import { renderTable } from "../output/table";
import { taskView } from "../output/views";
import type { CommandContext } from "./context";
import { integerIn, parseStatuses } from "./parsers";

interface ListOptions {
  status?: TaskStatus[];
  task?: string;
  owner?: string;
  limit: number;
}

/** `taskwire tasks list`: tasks newest first, filtered by status, task name and owner. */
export function listCommand(ctx: CommandContext): Command {
  return new Command("list")
    .description("List tasks, newest first.")
    .option(
      "--status <statuses>",
      "only these statuses, comma-separated (e.g. running,failed)",
      parseStatuses,
    )
    .option("--task <name>", "only tasks of this task name")
    .option(
      "--owner <id>",
      "only tasks of this owner id (the OWNER column is redacted unless --show-sensitive)",
    )
    .option("--limit <n>", "at most n tasks (1-1000)", integerIn(1, 1000), 50)
    .action((options: ListOptions, command: Command) =>
      ctx.withSession(command, async ({ session, options: global, show, print, printJson, width }) => {
        const tasks = await session.store.listTasks({
          status: options.status,
          name: options.task,
          owner: options.owner,
          limit: options.limit,
        });
        if (global.json) return printJson(tasks.map((t) => taskView(t, show)));
        if (tasks.length === 0) return print("No tasks.");
        const now = Date.now();
        const columns = [
          { head: "ID", width: 38 },
          { head: "TASK" },
          { head: "STATUS", width: 11 },
          { head: "OWNER", width: 12 },
          { head: "AGE", width: 5 },
        ];
        const rows = tasks.map((t) => [
          t.id,
          t.name,
          t.status,
          sensitive(show, t.owner),
          age(t.createdAt, now),
        ]);
        print(renderTable(columns, rows, width));
        if (tasks.length === options.limit) print(`(the newest ${options.limit}; --limit shows more)`);
      }),
    );
}
