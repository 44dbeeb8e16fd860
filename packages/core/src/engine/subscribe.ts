import { ErrorCode } from "../errors/error-codes";
import { TaskwireError } from "../errors/taskwire-error";
import { Bell } from "../internal/bell";
import {
  type EventRecord,
  isTerminalEventName,
  isTerminalStatus,
  type TaskRecord,
  type TaskStore,
} from "../store/task-store";
import { toEvent } from "./snapshot";
import type { TaskEvent } from "./task-ref";

/** Options of `taskflow.subscribe`. */
export interface SubscribeOptions {
  /** Resume after this seq (0 = from the start). @default 0 */
  afterSeq?: number;
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
  /** Events read per store call. @default 256 */
  batchSize?: number;
  /**
   * Re-read at least this often even without a doorbell (a safety net for cross-process stores).
   * @default 1000
   */
  maxWaitMs?: number;
}

/**
 * Iterates a task's visible events: replay from `afterSeq`, then live, until the terminal event or the
 * signal. One cursor, woken by the store's doorbell: the bell is armed before every read, so an event
 * appended during a read rings it and the next read picks it up; replay and live join with no gap and
 * no duplicate.
 */
export async function* subscribeEvents(
  store: TaskStore,
  taskId: string,
  options: SubscribeOptions = {},
  known?: Pick<TaskRecord, "status" | "lastSeq">,
): AsyncGenerator<TaskEvent> {
  for await (const page of subscribeEventPages(store, taskId, options, known))
    for (const record of page) yield toEvent(record);
}

/**
 * The stored events of `taskflow.subscribe`, a page (one store read, up to `batchSize`) at a time, as the
 * store holds them (`data` is the WAL codec's text): for bridges that write many events at once. Same
 * cursor, doorbell and end as `subscribe`, but **no access check**: call it for a task the current user
 * was allowed to read, and pass that read's `status` and `lastSeq` as `known` (it spares a re-read).
 * @example
 * const task = await taskflow.get(taskId); // owner-checked
 * for await (const page of subscribeEventPages(taskflow.store, taskId, { afterSeq: 0 }, task)) write(page);
 */
export async function* subscribeEventPages(
  store: TaskStore,
  taskId: string,
  options: SubscribeOptions = {},
  known?: Pick<TaskRecord, "status" | "lastSeq">,
): AsyncGenerator<EventRecord[]> {
  const { signal, batchSize = 256, maxWaitMs = 1000 } = options;
  // As for Last-Event-ID: anything but a non-negative integer means "from the start"; huge values clamp.
  const after = options.afterSeq ?? 0;
  let cursor = Number.isInteger(after) && after > 0 ? Math.min(after, Number.MAX_SAFE_INTEGER) : 0;
  // With the task as read just before, an empty read needs no re-read when the cursor is within what the
  // task had appended then: its terminal event, still to come or already there, lies after the cursor.
  // Only a cursor past the end (a finished task, or a bogus Last-Event-ID) needs the status re-checked.
  if (known && isTerminalStatus(known.status) && cursor >= known.lastSeq) return;
  const recheck = !known || cursor > known.lastSeq;
  const bell = new Bell();
  const unwatch = store.watchEvents(taskId, () => bell.ring());
  try {
    while (!signal?.aborted) {
      bell.clear();
      const records = await store.readEvents(taskId, cursor, batchSize);
      for (const [i, record] of records.entries()) {
        // readEvents promises seq > cursor, ascending, without gaps: anything else is a broken store. Skipping
        // would re-read the same batch forever; yielding would break the gapless contract. Fail loudly.
        if (record.seq !== cursor + 1) throw outOfOrder(taskId, cursor, record.seq);
        cursor = record.seq;
        // Only the task's current terminal event ends the stream: a retried task has an earlier `failed`
        // in its history, and its new run's events follow it.
        if (isTerminalEventName(record.name) && (await isCurrentTerminal(store, taskId, record.seq, known))) {
          yield records.slice(0, i + 1);
          return;
        }
      }
      if (records.length > 0) yield records;
      if (records.length === batchSize) continue;
      if (records.length === 0 && recheck) {
        // Resumed at or past the end of a finished task: nothing more will come.
        const task = await store.getTask(taskId);
        if (!task || (isTerminalStatus(task.status) && cursor >= task.lastSeq)) return;
      }
      await bell.wait(maxWaitMs, signal);
    }
  } finally {
    unwatch();
  }
}

function outOfOrder(taskId: string, cursor: number, seq: number): TaskwireError {
  return new TaskwireError(
    ErrorCode.INTERNAL,
    `The store returned event seq ${seq} of task ${taskId} where seq ${cursor + 1} was expected.`,
    { details: { taskId, expected: cursor + 1, got: seq } },
  );
}

async function isCurrentTerminal(
  store: TaskStore,
  taskId: string,
  seq: number,
  known: Pick<TaskRecord, "status" | "lastSeq"> | undefined,
): Promise<boolean> {
  if (known && isTerminalStatus(known.status) && known.lastSeq === seq) return true;
  const task = await store.getTask(taskId);
  return !task || (isTerminalStatus(task.status) && task.lastSeq === seq);
}
