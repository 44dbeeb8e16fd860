import type { EventRecord } from "@taskwire/core/store";
import { Command } from "commander";
import { CliError } from "../cli-error";
import { EVENT_COLUMNS, eventRow } from "../output/event-table";
import { renderTable } from "../output/table";
import { eventView, liveEventView } from "../output/views";
import type { CommandContext, CommandRun } from "./context";

const BATCH = 500;

/** `taskwire tasks events <id> [--follow]`: the task's WAL events; with --follow, live until it ends. */
export function eventsCommand(ctx: CommandContext): Command {
  return new Command("events")
    .description("Print a task's events. With --follow, keep printing them live until the task ends.")
    .argument("<id>", "task id")
    .option(
      "-f, --follow",
      "stream new events as they are written (woken by the store's doorbell) until the task's terminal event or Ctrl-C; with --json, one JSON object per line (NDJSON)",
    )
    .action((id: string, options: { follow?: boolean }, command: Command) =>
      ctx.withSession(command, async (run) => {
        if (options.follow) return follow(run, id);
        const task = await run.session.store.getTask(id);
        if (!task) throw new CliError(`Task ${id} was not found.`);
        const events = (await readAll(run, id)).map((e) => eventView(e, run.show));
        if (run.options.json) return run.printJson(events);
        if (events.length === 0) return run.print(`Task ${id} has no events yet.`);
        run.print(renderTable(EVENT_COLUMNS, events.map(eventRow), run.width));
      }),
    );
}

async function readAll(run: CommandRun, id: string): Promise<EventRecord[]> {
  const all: EventRecord[] = [];
  for (;;) {
    const batch = await run.session.store.readEvents(id, all.at(-1)?.seq ?? 0, BATCH);
    all.push(...batch);
    if (batch.length < BATCH) return all;
  }
}

/**
 * Replay, then live: `taskflow.subscribe` keeps one cursor woken by the store's doorbell (an in-process
 * ring, SQLite's commit counter or PostgreSQL NOTIFY), so events written by another process arrive as
 * they commit. Ends at the task's current terminal event, or when the io's signal aborts (Ctrl-C).
 */
async function follow(run: CommandRun, id: string): Promise<void> {
  const taskflow = await run.session.taskflow();
  let first = true;
  for await (const event of taskflow.subscribe(id, { signal: run.signal })) {
    const view = liveEventView(event, run.show);
    if (run.options.json) {
      run.printJson(view);
      continue;
    }
    // Each event is its own one-row table with the same fixed columns, so lines align as they stream.
    run.print(renderTable(EVENT_COLUMNS, [eventRow(view)], run.width, { head: first }));
    first = false;
  }
}
