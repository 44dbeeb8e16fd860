import type { SerializedError, TaskRecord, TaskStatus } from "@taskwire/core";

/** A `taskwire_tasks` row as better-sqlite3 returns it. */
export interface TaskRow {
  id: string;
  name: string;
  status: TaskStatus;
  revision: number;
  input: string;
  result: string | null;
  error: string | null;
  owner: string;
  identity: string | null;
  attempt: number;
  claims: number;
  run_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  cancel_requested_at: number | null;
  last_seq: number;
  parent_id: string | null;
  created_at: number;
  updated_at: number;
}

/** Maps a row to the interface's record; the error column holds JSON of a `SerializedError`. */
export function toTaskRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    revision: row.revision,
    input: row.input,
    result: row.result,
    error: row.error === null ? null : (JSON.parse(row.error) as SerializedError),
    owner: row.owner,
    identity: row.identity,
    attempt: row.attempt,
    claims: row.claims,
    runAt: row.run_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequestedAt: row.cancel_requested_at,
    lastSeq: row.last_seq,
    parentId: row.parent_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Encodes an error for the `error` column. */
export function encodeError(error: SerializedError | null): string | null {
  return error === null ? null : JSON.stringify(error);
}

/** The columns a task read selects, in `TaskRow` shape. */
export const TASK_COLUMNS =
  "id, name, status, revision, input, result, error, owner, identity, attempt, claims, run_at, " +
  "lease_owner, lease_expires_at, cancel_requested_at, last_seq, parent_id, created_at, updated_at";
