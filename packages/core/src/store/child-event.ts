import { encode } from "../codec/codec";
import type { TaskStatus } from "./task-store";

/**
 * The encoded payload of a `child` bridge event in a parent's WAL: `{ taskId, task, status }`. Stores
 * write it in the same atomic write as the spawn (`queued`) and as the child's terminal settlement.
 */
export function childEventData(taskId: string, task: string, status: TaskStatus): string {
  return encode({ taskId, task, status });
}
