import type { EventRecord, SerializedError, TaskRecord, TaskStatus } from "@taskwire/core/store";

/**
 * A `tasks` row as pg returns it (bigint columns arrive as strings) or as `to_json` renders it
 * (numbers). Both shapes go through {@link toTaskRecord}.
 */
export interface TaskRow {
  id: string;
  name: string;
  status: string;
  revision: number | string;
  input: string;
  result: string | null;
  error: string | null;
  owner: string;
  identity: string | null;
  attempt: number | string;
  claims: number | string;
  run_at: number | string;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
  cancel_requested_at: number | string | null;
  last_seq: number | string;
  emits: number | string;
  parent_id: string | null;
  created_at: number | string;
  updated_at: number | string;
  priority: number | string;
  ordinal?: number | string;
  fair_seq?: number | string;
}

/** An `events` row. */
export interface EventRow {
  seq: number | string;
  name: string;
  data: string;
  at: number | string;
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

/** Maps a `tasks` row to the interface's record (epoch-ms bigints become JS numbers). */
export function toTaskRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status as TaskStatus,
    revision: Number(row.revision),
    input: row.input,
    result: row.result,
    error: row.error === null ? null : (JSON.parse(row.error) as SerializedError),
    owner: row.owner,
    identity: row.identity,
    attempt: Number(row.attempt),
    claims: Number(row.claims),
    runAt: Number(row.run_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: nullableNumber(row.lease_expires_at),
    cancelRequestedAt: nullableNumber(row.cancel_requested_at),
    lastSeq: Number(row.last_seq),
    emits: Number(row.emits),
    parentId: row.parent_id,
    priority: Number(row.priority),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Maps an `events` row to an {@link EventRecord}. */
export function toEventRecord(row: EventRow): EventRecord {
  return { seq: Number(row.seq), name: row.name, data: row.data, at: Number(row.at) };
}
