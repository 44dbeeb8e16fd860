import { TASK_COLUMNS, type TaskRow } from "./rows";
import { ACTIVE, IN_JSON, type Prepare, type Stmt, TERMINAL } from "./sql";

/** The prepared statements of the flow methods (children, signals, retry); part of `Statements`. */
export interface FlowStatements {
  activeChild: Stmt<[string], number>;
  stepTaken: Stmt<[string, number], number>;
  anyTerminal: Stmt<[string], number>;
  statusAndSeq: Stmt<[string], [status: string, last_seq: number]>;
  signalAt: Stmt<[string, string, number], string>;
  signalFrom: Stmt<[string, string, number], number>;
  signalByKey: Stmt<[string, string], number>;
  lastSignalIndex: Stmt<[string, string], number | null>;
  insertSignal: Stmt<[string, string, number, string, string | null, number]>;
  retry: Stmt<[number, number, string, number]>;
  cancelLater: Stmt<[number, number, number, string, number], TaskRow>;
}

/** Prepares {@link FlowStatements} with the connection's `prepare`. */
export function prepareFlowStatements(p: Prepare): FlowStatements {
  return {
    // Through the partial parent index; `+status` keeps the planner off the claim index, whose predicate
    // the bare term would repeat (it would then scan every unfinished task instead of one parent's children).
    activeChild: p<[string], number>(
      `SELECT 1 FROM taskwire_tasks WHERE parent_id = ? AND +${ACTIVE} LIMIT 1`,
    ).pluck(),
    stepTaken: p<[string, number], number>(
      "SELECT 1 FROM taskwire_steps WHERE task_id = ? AND position = ?",
    ).pluck(),
    anyTerminal: p<[string], number>(
      `SELECT 1 FROM taskwire_tasks WHERE id ${IN_JSON} AND status IN ${TERMINAL} LIMIT 1`,
    ).pluck(),
    statusAndSeq: p<[string], [status: string, last_seq: number]>(
      "SELECT status, last_seq FROM taskwire_tasks WHERE id = ?",
    ).raw(),

    // Signals are clustered on (task_id, name, idx): each of these is one seek.
    signalAt: p<[string, string, number], string>(
      "SELECT payload FROM taskwire_signals WHERE task_id = ? AND name = ? AND idx = ?",
    ).pluck(),
    signalFrom: p<[string, string, number], number>(
      "SELECT 1 FROM taskwire_signals WHERE task_id = ? AND name = ? AND idx >= ? LIMIT 1",
    ).pluck(),
    signalByKey: p<[string, string], number>(
      "SELECT idx FROM taskwire_signals WHERE task_id = ? AND idempotency_key = ?",
    ).pluck(),
    lastSignalIndex: p<[string, string], number | null>(
      "SELECT max(idx) FROM taskwire_signals WHERE task_id = ? AND name = ?",
    ).pluck(),
    insertSignal: p<[string, string, number, string, string | null, number]>(
      `INSERT INTO taskwire_signals (task_id, name, idx, payload, idempotency_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),

    retry: p<[number, number, string, number]>(
      `UPDATE taskwire_tasks SET status = 'queued', attempt = attempt + 1, run_at = ?, revision = revision + 1,
         updated_at = ?
       WHERE id = ? AND revision = ? AND status = 'failed'`,
    ),
    // A cancel of an unfinished, unclaimed task whose children must be cancelled first: a worker claims it
    // at once, cancels them and settles it later.
    cancelLater: p<[number, number, number, string, number], TaskRow>(
      `UPDATE taskwire_tasks SET status = 'queued', cancel_requested_at = COALESCE(cancel_requested_at, ?),
         run_at = ?, revision = revision + 1, updated_at = ?
       WHERE id = ? AND revision = ? RETURNING ${TASK_COLUMNS}`,
    ),
  };
}
