import { type CreateTaskResult, type NewTask, newTaskRecord, StoreConflictError } from "@taskwire/core/store";
import { type TaskRow, toTaskRecord } from "./rows";
import type { StoreDb } from "./store-db";

/**
 * `TaskStore.createTask`: one statement (the idempotent form re-reads once when a concurrent start
 * committed the key after its snapshot), or, under `maxActivePerOwner`, {@link createLimited}.
 */
export async function createTask(db: StoreDb, schema: string, spec: NewTask): Promise<CreateTaskResult> {
  const task = newTaskRecord(spec);
  const values = [
    task.id,
    task.name,
    task.input,
    task.owner,
    task.identity,
    task.parentId,
    task.runAt,
    spec.now,
    task.status,
    task.revision,
    task.claims,
    task.leaseOwner,
    task.leaseExpiresAt,
    task.priority,
  ];
  if (spec.maxActivePerOwner !== undefined) {
    return createLimited(db, schema, spec, values, spec.maxActivePerOwner);
  }
  const idem = spec.idempotency;
  if (!idem) return toCreateResult((await db.query<CreatedRow>(db.sql.createTask, values))[0], spec);
  let rows = await db.query<CreatedRow>(db.sql.createIdempotent, [
    ...values,
    idem.key,
    idem.inputHash,
    idem.expiresAt,
  ]);
  // Empty only when a concurrent start committed the key after this statement's snapshot.
  if (rows.length === 0) {
    const again = [spec.owner, spec.name, idem.key, idem.inputHash, spec.now];
    rows = await db.query<CreatedRow>(db.sql.readIdempotent, again);
  }
  return toCreateResult(rows[0], spec);
}

/**
 * `createTask` under a per-owner limit: one transaction holding the owner's advisory lock, so concurrent
 * limited starts of one owner are serialised. A live idempotency key attaches first (even at the limit);
 * then the count; then the ordinary insert. Read committed: each statement sees the creates of whoever
 * held the lock before.
 */
async function createLimited(
  db: StoreDb,
  schema: string,
  spec: NewTask,
  values: unknown[],
  max: number,
): Promise<CreateTaskResult> {
  const { sql } = db;
  return db.transaction(async (run) => {
    await run(sql.lockOwner, [schema, spec.owner]);
    const idem = spec.idempotency;
    if (idem) {
      const again = [spec.owner, spec.name, idem.key, idem.inputHash, spec.now];
      const [held] = await run<TaskRow & { conflict: boolean }>(sql.readIdempotent, again);
      if (held) return { created: false, task: toTaskRecord(held), conflict: held.conflict };
    }
    const [count] = await run<{ active: number }>(sql.countActive, [spec.owner]);
    const active = count?.active ?? 0;
    if (active >= max) return { created: false, limited: true, active };
    let rows = idem
      ? await run<CreatedRow>(sql.createIdempotent, [...values, idem.key, idem.inputHash, idem.expiresAt])
      : await run<CreatedRow>(sql.createTask, values);
    // As on the unlimited path: a start without the limit may have committed the key after this
    // statement's snapshot; the re-read (a new statement) sees it.
    if (idem && rows.length === 0) {
      rows = await run<CreatedRow>(sql.readIdempotent, [
        spec.owner,
        spec.name,
        idem.key,
        idem.inputHash,
        spec.now,
      ]);
    }
    return toCreateResult(rows[0], spec);
  });
}

/** A row of the create statements: the task plus whether it was created and whether the key conflicted. */
type CreatedRow = TaskRow & { created: boolean; conflict: boolean };

/** The `createTask` result of a create statement's row (shared by the limited and the plain path). */
function toCreateResult(row: CreatedRow | undefined, spec: NewTask): CreateTaskResult {
  if (!row) throw new StoreConflictError(spec.id, "its idempotency key changed concurrently");
  const task = toTaskRecord(row);
  if (!row.created) return { created: false, task, conflict: row.conflict };
  if (task.leaseOwner === null) return { created: true, task };
  return {
    created: true,
    task,
    lease: { taskId: task.id, workerId: task.leaseOwner, revision: task.revision },
  };
}
