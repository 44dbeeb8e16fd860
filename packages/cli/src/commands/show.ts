import type { TaskRecord, TaskStore } from "@taskwire/core/store";
import { Command } from "commander";
import { CliError } from "../cli-error";
import { EVENT_COLUMNS, eventRow, shownValue } from "../output/event-table";
import { duration, isoTime, timeWithAge } from "../output/format";
import { renderFields, renderTable } from "../output/table";
import { eventView, type StepView, stepView, type TaskView, taskView } from "../output/views";
import type { CommandContext } from "./context";
import { integerIn } from "./parsers";

/** How deep, and how wide per parent, `tasks show` reads a task's descendants. */
const TREE_DEPTH = 5;
const CHILDREN_PER_TASK = 100;

/** A child in the tree `tasks show` prints. */
interface ChildNode {
  taskId: string;
  task: string;
  status: string;
  createdAt: string | null;
  children: ChildNode[];
}

/** `taskwire tasks show <id>`: the record, the step timeline, the last events and the children. */
export function showCommand(ctx: CommandContext): Command {
  return new Command("show")
    .description("Show a task: its record, step timeline, last events and children.")
    .argument("<id>", "task id")
    .option("--events <n>", "how many of the last events to show (0-1000)", integerIn(0, 1000), 10)
    .action((id: string, options: { events: number }, command: Command) =>
      ctx.withSession(command, async ({ session, options: global, show, print, printJson, width }) => {
        const { store } = session;
        const record = await store.getTask(id);
        if (!record) throw new CliError(`Task ${id} was not found.`);
        const { steps: checkpoints } = await store.loadHistory(id);
        const from = Math.max(0, record.lastSeq - options.events);
        const records = options.events === 0 ? [] : await store.readEvents(id, from, options.events);
        const task = taskView(record, show);
        const steps = checkpoints.map((s) => stepView(s, show));
        const events = records.map((e) => eventView(e, show));
        const children = await childTree(store, id, TREE_DEPTH);
        if (global.json) return printJson({ task, steps, events, eventCount: record.lastSeq, children });
        print(`Task ${record.id}\n`);
        print(renderFields(recordFields(record, task), width));
        print(`\nSteps (${steps.length})`);
        if (steps.length > 0) print(renderTable(STEP_COLUMNS, steps.map(stepRow), width));
        const shownCount = events.length === record.lastSeq ? "" : `last ${events.length} of `;
        print(`\nEvents (${shownCount}${record.lastSeq})`);
        if (events.length > 0) print(renderTable(EVENT_COLUMNS, events.map(eventRow), width));
        const rows = flatten(children, 0);
        print(`\nChildren (${rows.length})`);
        if (rows.length > 0) print(renderTable(CHILD_COLUMNS, rows, width));
      }),
    );
}

const STEP_COLUMNS = [
  { head: "#", width: 4 },
  { head: "KEY" },
  { head: "DURATION", width: 10 },
  { head: "ATTEMPTS", width: 10 },
  { head: "RECORDED", width: 26 },
];
const CHILD_COLUMNS = [{ head: "ID" }, { head: "TASK", width: 22 }, { head: "STATUS", width: 11 }];

function recordFields(record: TaskRecord, view: TaskView): Array<[string, string]> {
  const now = Date.now();
  const fields: Array<[string, string]> = [
    ["task", record.name],
    ["status", record.status],
    ["attempt", String(record.attempt)],
    ["claims", String(record.claims)],
    ["owner", view.owner],
    ["created", timeWithAge(record.createdAt, now)],
    ["updated", timeWithAge(record.updatedAt, now)],
    ["parent", record.parentId ?? "-"],
  ];
  if (record.cancelRequestedAt !== null)
    fields.push(["cancel requested", timeWithAge(record.cancelRequestedAt, now)]);
  fields.push(["input", shownValue(view.input)]);
  if (view.result !== null) fields.push(["result", shownValue(view.result)]);
  if (view.identity !== null) fields.push(["identity", shownValue(view.identity)]);
  if (record.error) {
    // Kept after a later attempt completed: then it is history, not the outcome.
    const label = record.status === "failed" || record.status === "retrying" ? "error" : "last error";
    fields.push([label, `${record.error.code}: ${record.error.message}`]);
  }
  return fields;
}

function stepRow(step: StepView): string[] {
  return [
    String(step.position),
    step.key,
    duration(step.durationMs),
    String(step.attempts ?? "-"),
    step.at ?? "-",
  ];
}

async function childTree(store: TaskStore, parentId: string, depth: number): Promise<ChildNode[]> {
  if (depth === 0) return [];
  // listTasks is newest first; a tree reads in creation order.
  const children = (await store.listTasks({ parentId, limit: CHILDREN_PER_TASK })).reverse();
  return Promise.all(
    children.map(async (child) => ({
      taskId: child.id,
      task: child.name,
      status: child.status,
      createdAt: isoTime(child.createdAt),
      children: await childTree(store, child.id, depth - 1),
    })),
  );
}

/** The tree as rows, each id indented two spaces per level (cli-table3 wraps what does not fit). */
function flatten(nodes: readonly ChildNode[], level: number): string[][] {
  return nodes.flatMap((node) => [
    [`${"  ".repeat(level)}${node.taskId}`, node.task, node.status],
    ...flatten(node.children, level + 1),
  ]);
}
