import type { DebounceSpec, NewTask, TaskRecord } from "@taskwire/core/store";
import { TASK_COLUMNS, type TaskRow, toTaskRecord } from "./rows";
import type { Prepare, Stmt } from "./sql";

/** The prepared statements of debounced starts; part of `Statements`. */
export interface DebounceStatements {
  getDebounce: Stmt<
    [owner: string, name: string, key: string],
    { task_id: string; max_run_at: number | null }
  >;
  foldDebounced: Stmt<
    [input: string, identity: string | null, runAt: number, now: number, id: string],
    TaskRow
  >;
  putDebounce: Stmt<[owner: string, name: string, key: string, taskId: string, maxRunAt: number | null]>;
}

/** Prepares {@link DebounceStatements}. */
export function prepareDebounceStatements(p: Prepare): DebounceStatements {
  return {
    getDebounce: p(
      "SELECT task_id, max_run_at FROM taskwire_debounce WHERE owner = ? AND task_name = ? AND key = ?",
    ),
    // Only a task no worker ever claimed (`claims = 0`): a task handed back at shutdown or woken from a wait
    // is `queued` too, but it has started, and its input must not change under its checkpoints.
    foldDebounced: p(
      `UPDATE taskwire_tasks SET input = ?, identity = ?, run_at = ?, revision = revision + 1, updated_at = ?
       WHERE id = ? AND status = 'queued' AND claims = 0 RETURNING ${TASK_COLUMNS}`,
    ),
    putDebounce: p(
      `INSERT INTO taskwire_debounce (owner, task_name, key, task_id, max_run_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (owner, task_name, key) DO UPDATE SET task_id = excluded.task_id, max_run_at = excluded.max_run_at`,
    ),
  };
}

type Debounced = NewTask & { debounce: DebounceSpec };

/**
 * Folds a debounced start into its window's task when that task is still `queued` and never claimed (the
 * latest input and identity, `runAt` pushed but capped, a new revision); `undefined` when the start must
 * open a new window. Runs inside the write transaction, so no claim comes between the read and the update.
 */
export function foldDebounced(s: DebounceStatements, spec: Debounced): TaskRecord | undefined {
  const window = s.getDebounce.get(spec.owner, spec.name, spec.debounce.key);
  if (!window) return undefined;
  const runAt = window.max_run_at === null ? spec.runAt : Math.min(spec.runAt, window.max_run_at);
  const row = s.foldDebounced.get(spec.input, spec.identity, runAt, spec.now, window.task_id);
  return row && toTaskRecord(row);
}

/** Makes `spec`'s new task the key's window (replacing one whose task was claimed); after its insert. */
export function openDebounceWindow(s: DebounceStatements, spec: Debounced): void {
  const { maxWaitMs } = spec.debounce;
  const maxRunAt = maxWaitMs === undefined ? null : spec.now + maxWaitMs;
  s.putDebounce.run(spec.owner, spec.name, spec.debounce.key, spec.id, maxRunAt);
}
