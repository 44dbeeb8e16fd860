import { decode } from "../codec/codec";
import type { EventRecord, TaskRecord } from "../store/task-store";
import type { TaskEvent, TaskSnapshot } from "./task-ref";

/** The public view of a stored task. */
export function toSnapshot(task: TaskRecord): TaskSnapshot {
  const snapshot: TaskSnapshot = {
    taskId: task.id,
    task: task.name,
    status: task.status,
    createdAt: new Date(task.createdAt),
    updatedAt: new Date(task.updatedAt),
    lastSeq: task.lastSeq,
    attempt: task.attempt,
    owner: task.owner,
  };
  if (task.parentId !== null) snapshot.parentId = task.parentId;
  if (task.cancelRequestedAt !== null) snapshot.cancelRequestedAt = new Date(task.cancelRequestedAt);
  if (task.result !== null) snapshot.result = decode(task.result);
  // The error of the attempt that failed: final when failed, the reason for the wait when retrying. A
  // task that completed after a failed attempt shows no error.
  if (task.error !== null && (task.status === "failed" || task.status === "retrying"))
    snapshot.error = task.error;
  return snapshot;
}

/** The public view of a WAL event. */
export function toEvent(record: EventRecord): TaskEvent {
  return {
    seq: record.seq,
    name: record.name,
    data: decode(record.data),
    at: new Date(record.at),
  } as TaskEvent;
}
