import { type CreateTaskResult, type NewTask, StoreConflictError } from "@taskwire/core/store";
import type pg from "pg";
import { type TaskRow, toTaskRecord } from "./rows";
import type { Statement, Statements } from "./sql";

/**
 * `createTask` under a per-owner limit: one transaction holding the owner's advisory lock, so concurrent
 * limited starts of one owner are serialised. A live idempotency key attaches first (even at the limit);
 * then the count; then the ordinary insert. Read committed: each statement sees the creates of whoever
 * held the lock before.
 */
export async function createLimited(
  pool: pg.Pool,
  sql: Statements,
  schema: string,
  spec: NewTask,
  values: unknown[],
  max: number,
): Promise<CreateTaskResult> {
  const client = await pool.connect();
  let broken = false;
  const run = <TRow extends object>(statement: Statement, params: unknown[]) =>
    client.query<TRow>({ name: statement.name, text: statement.text, values: params }).then((r) => r.rows);
  try {
    await client.query("BEGIN");
    await run(sql.lockOwner, [schema, spec.owner]);
    const idem = spec.idempotency;
    if (idem) {
      const again = [spec.owner, spec.name, idem.key, idem.inputHash, spec.now];
      const [held] = await run<TaskRow & { conflict: boolean }>(sql.readIdempotent, again);
      if (held) {
        await client.query("COMMIT");
        return { created: false, task: toTaskRecord(held), conflict: held.conflict };
      }
    }
    const [count] = await run<{ active: number }>(sql.countActive, [spec.owner]);
    const active = count?.active ?? 0;
    if (active >= max) {
      await client.query("COMMIT");
      return { created: false, limited: true, active };
    }
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
    await client.query("COMMIT");
    return toCreateResult(rows[0], spec);
  } catch (error) {
    // A connection whose rollback failed is broken: destroy it rather than hand it back to the pool.
    broken = await client.query("ROLLBACK").then(
      () => false,
      () => true,
    );
    throw error;
  } finally {
    client.release(broken);
  }
}

/** A row of the create statements: the task plus whether it was created and whether the key conflicted. */
export type CreatedRow = TaskRow & { created: boolean; conflict: boolean };

/** The `createTask` result of a create statement's row (shared by the limited and the plain path). */
export function toCreateResult(row: CreatedRow | undefined, spec: NewTask): CreateTaskResult {
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
