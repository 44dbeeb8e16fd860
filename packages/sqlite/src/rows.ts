import type { SerializedError, TaskRecord, TaskStatus } from "@taskwire/core/store";

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
  emits: number;
  parent_id: string | null;
  created_at: number;
  updated_at: number;
  priority: number;
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
    emits: row.emits,
    parentId: row.parent_id,
    priority: row.priority,
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
  "lease_owner, lease_expires_at, cancel_requested_at, last_seq, emits, parent_id, created_at, updated_at, priority";

/**
 * A `taskwire_tasks` row as a statement in raw mode returns it: the values of {@link TASK_COLUMNS} in
 * order. Hot write paths (claim, settle) read rows this way: better-sqlite3 builds a row object with one
 * slow-path property store per column, an array costs one allocation, and the record below is a literal.
 */
export type TaskValues = [
  id: string,
  name: string,
  status: TaskStatus,
  revision: number,
  input: string,
  result: string | null,
  error: string | null,
  owner: string,
  identity: string | null,
  attempt: number,
  claims: number,
  run_at: number,
  lease_owner: string | null,
  lease_expires_at: number | null,
  cancel_requested_at: number | null,
  last_seq: number,
  emits: number,
  parent_id: string | null,
  created_at: number,
  updated_at: number,
  priority: number,
];

/** Maps a raw row ({@link TaskValues}) to the interface's record. */
export function valuesToTaskRecord(v: TaskValues): TaskRecord {
  return {
    id: v[0],
    name: v[1],
    status: v[2],
    revision: v[3],
    input: v[4],
    result: v[5],
    error: v[6] === null ? null : (JSON.parse(v[6]) as SerializedError),
    owner: v[7],
    identity: v[8],
    attempt: v[9],
    claims: v[10],
    runAt: v[11],
    leaseOwner: v[12],
    leaseExpiresAt: v[13],
    cancelRequestedAt: v[14],
    lastSeq: v[15],
    emits: v[16],
    parentId: v[17],
    priority: v[20],
    createdAt: v[18],
    updatedAt: v[19],
  };
}
