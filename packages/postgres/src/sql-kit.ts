import { createHash } from "node:crypto";
import { ACTIVE_STATUSES, CHILD_EVENT, TERMINAL_STATUSES } from "@taskwire/core/store";

/** A statement with a stable name, so each pooled connection parses and plans it once. */
export interface Statement {
  name: string;
  text: string;
}

/** Wraps `text` as a named statement. */
export function statement(text: string): Statement {
  // Named by content: two stores on different schemas sharing one pool never clash.
  return { name: `tw_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`, text };
}

/** Quotes an identifier (callers pass names already checked by `assertSchemaName`). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The qualified table names of a schema. */
export function tableNames(schema: string) {
  const s = quoteIdent(schema);
  return {
    tasks: `${s}.tasks`,
    steps: `${s}.steps`,
    events: `${s}.events`,
    idempotency: `${s}.idempotency`,
    signals: `${s}.signals`,
    debounce: `${s}.debounce`,
  };
}

/** The tables of one schema. */
export type Tables = ReturnType<typeof tableNames>;

function sqlList(values: readonly string[]): string {
  return `(${values.map((value) => `'${value}'`).join(", ")})`;
}

/** Core's terminal set as an SQL list: `('completed', 'failed', 'cancelled')`. */
export const TERMINAL = sqlList(TERMINAL_STATUSES);

/** Core's active set (what `maxActivePerOwner` counts, what a parent's cancel waits for) as an SQL list. */
export const ACTIVE = sqlList(ACTIVE_STATUSES);

/** The name of a parent's bridge event, as an SQL literal. */
export const CHILD = `'${CHILD_EVENT}'`;

/**
 * The fair turn of a task being inserted for `owner` at `priority` (SQL expressions): one past the owner's
 * highest unfinished turn, never below the lowest queued turn at that priority. Two index seeks
 * (`tasks_owner_unfinished_idx`, `tasks_queue_idx`); concurrent inserts may share a turn (a tie, harmless).
 */
export function fairTurn(tasks: string, owner: string, priority: string): string {
  // ORDER BY … LIMIT 1 rather than max()/min(): a guaranteed one-row index scan even on stale statistics.
  return `GREATEST(
        coalesce((SELECT fair_seq + 1 FROM ${tasks}
                   WHERE owner = ${owner} AND status IN ('queued', 'running', 'retrying', 'waiting')
                   ORDER BY owner DESC, fair_seq DESC LIMIT 1), 0),
        coalesce((SELECT fair_seq FROM ${tasks} WHERE status = 'queued' AND priority = ${priority}
                   ORDER BY priority DESC, fair_seq LIMIT 1), 0))`;
}
