import type { TaskSnapshot } from "@taskwire/core";
import { publicTaskError } from "../http-errors/to-http-error";
import { toJsonSafe } from "./json-safe";

/**
 * The snapshot over HTTP: `{ taskId, task, status, createdAt, updatedAt, lastSeq, parentId?, result?,
 * error? }`, JSON-safe (`parentId` only for a child task; `error` masked like the `failed` frame).
 */
export function publicSnapshot(snapshot: TaskSnapshot, production = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    taskId: snapshot.taskId,
    task: snapshot.task,
    status: snapshot.status,
    createdAt: snapshot.createdAt.toISOString(),
    updatedAt: snapshot.updatedAt.toISOString(),
    lastSeq: snapshot.lastSeq,
  };
  if (snapshot.parentId !== undefined) out.parentId = snapshot.parentId;
  if (snapshot.result !== undefined) out.result = toJsonSafe(snapshot.result);
  if (snapshot.error !== undefined) out.error = publicTaskError(snapshot.error, production);
  return out;
}
