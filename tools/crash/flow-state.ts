/** Reads the flow workloads' durable state (every task, checkpoint, event and signal) from the SQLite file. */
import { existsSync } from "node:fs";
import { decode } from "@taskwire/core/store";
import Database from "better-sqlite3";
import { childLabel, FLOW_CHILD, FLOW_PARENT } from "./flow-tasks";
import type { LifeReport } from "./harness";
import { readCounts } from "./life";

/** One task of the flow as the database holds it. */
export interface FlowTaskState {
  id: string;
  name: string;
  /** `parent`, `child<i>` (from the child's input), or `?<id>` for a task that should not exist. */
  label: string;
  parentId: string | null;
  status: string;
  input: string;
  result: string | null;
  attempt: number;
  lastSeq: number;
  emits: number;
  steps: Array<{ position: number; key: string; output: string }>;
  events: Array<{ seq: number; name: string; data: string }>;
}

/** The whole flow: the parent first, then the children by label; and every recorded signal. */
export interface FlowState {
  tasks: FlowTaskState[];
  signals: Array<{
    taskId: string;
    name: string;
    idx: number;
    payload: string;
    idempotencyKey: string | null;
  }>;
}

const labelOf = (row: { id: string; name: string; parentId: string | null; input: string }): string => {
  if (row.name === FLOW_PARENT && row.parentId === null) return "parent";
  if (row.name === FLOW_CHILD) {
    const { i } = decode<{ i?: unknown }>(row.input);
    if (typeof i === "number") return childLabel(i);
  }
  return `?${row.id}`;
};

/** Reads everything through its own connection (the worker may be running: WAL readers do not block it). */
export function readFlowState(dbPath: string): FlowState {
  if (!existsSync(dbPath)) return { tasks: [], signals: [] };
  const db = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    const rows = db
      .prepare(
        `SELECT id, name, parent_id AS parentId, status, input, result, attempt, last_seq AS lastSeq, emits
         FROM taskwire_tasks ORDER BY created_at, id`,
      )
      .all() as Array<Omit<FlowTaskState, "label" | "steps" | "events">>;
    const steps = db.prepare(
      "SELECT position, key, output FROM taskwire_steps WHERE task_id = ? ORDER BY position",
    );
    const events = db.prepare("SELECT seq, name, data FROM taskwire_events WHERE task_id = ? ORDER BY seq");
    const tasks = rows.map((row) => ({
      ...row,
      label: labelOf(row),
      steps: steps.all(row.id) as FlowTaskState["steps"],
      events: events.all(row.id) as FlowTaskState["events"],
    }));
    const order = (label: string) =>
      label === "parent" ? -1 : label.startsWith("?") ? 1e9 : Number(label.slice(5));
    tasks.sort((a, b) => order(a.label) - order(b.label));
    const signals = db
      .prepare(
        `SELECT task_id AS taskId, name, idx, payload, idempotency_key AS idempotencyKey
         FROM taskwire_signals ORDER BY task_id, name, idx`,
      )
      .all() as FlowState["signals"];
    return { tasks, signals };
  } finally {
    db.close();
  }
}

/**
 * A life's snapshot for the shared checks: `taskIds` are the ROOT tasks (one expected: later lives attach
 * by idempotency key; children are checked separately), `committed` every task's checkpoints as
 * `label/key`, `counts` the counts file.
 */
export function flowSnapshot(
  state: FlowState,
  countsFile: string,
): Pick<LifeReport, "taskIds" | "committed" | "counts"> {
  return {
    taskIds: state.tasks.filter((t) => t.parentId === null).map((t) => t.id),
    committed: state.tasks.flatMap((t) => t.steps.map((s) => `${t.label}/${s.key}`)),
    counts: readCounts(countsFile),
  };
}

/** The parent's id once it exists. */
export const parentIdOf = (state: FlowState): string | undefined =>
  state.tasks.find((t) => t.label === "parent")?.id;
