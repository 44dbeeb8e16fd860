import { CHILD_EVENT, childEventData, type TerminalEventName, type WakeOn } from "@taskwire/core/store";
import type { Doorbells } from "./doorbells";
import type { Statements } from "./statements";
import type { BatchScope } from "./write-queue";

/** A task that a write just moved to a terminal status (its `last_seq` already counts the terminal event). */
export interface Finished {
  taskId: string;
  status: TerminalEventName;
  /** Encoded payload of the terminal event. */
  event: string;
  now: number;
}

/**
 * Everything that follows a task reaching a terminal status, for every path that gets there (a settlement,
 * a cancel of an unclaimed task), inside the same transaction as the status change: the terminal event at
 * the task's `last_seq`, then, for a child, the parent's `child` event at the parent's next seq (its
 * `emits` unchanged) and the parent's wake-up if it waits. Watchers are rung after the commit.
 */
export function finishTask(s: Statements, bells: Doorbells, batch: BatchScope, done: Finished): void {
  const { taskId, status, now } = done;
  const [name, parentId, seq] = s.finished.get(taskId) as [string, string | null, number];
  s.insertEvent.run(taskId, seq, status, done.event, now);
  batch.afterCommit(() => bells.ringEvents(taskId));
  if (parentId === null) return;
  const parent = s.statusAndSeq.get(parentId);
  if (!parent) return; // the parent was deleted (retention): nobody is left to tell
  const [parentStatus, parentSeq] = parent;
  s.notify.run(1, now, now, parentId);
  s.insertEvent.run(parentId, parentSeq + 1, CHILD_EVENT, childEventData(taskId, name, status), now);
  const woken = parentStatus === "waiting";
  batch.afterCommit(() => {
    bells.ringEvents(parentId);
    if (woken) bells.ringWork();
  });
}

/**
 * Whether a task about to wait on `wakeOn` should not wait at all: one of its children is already terminal
 * or a signal it waits for is already there. Read under the write lock, so a wake-up that committed before
 * the settlement is seen here, and one after it finds the task `waiting`.
 */
export function wakeDue(s: Statements, taskId: string, wakeOn: WakeOn): boolean {
  if (wakeOn.cancel && (s.cancelRequestedAt.get(taskId)?.cancel_requested_at ?? null) !== null) return true;
  const children = wakeOn.children ?? [];
  if (children.length > 0 && s.anyTerminal.get(JSON.stringify(children)) !== undefined) return true;
  for (const wanted of wakeOn.signals ?? []) {
    if (s.signalFrom.get(taskId, wanted.name, wanted.index) !== undefined) return true;
  }
  return false;
}
