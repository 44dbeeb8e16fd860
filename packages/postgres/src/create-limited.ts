import { type CreateTaskResult, type NewTask, StoreConflictError } from "@taskwire/core";
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
    const rows = idem
      ? await run<TaskRow & { created: boolean; conflict: boolean }>(sql.createIdempotent, [
          ...values,
          idem.key,
          idem.inputHash,
          idem.expiresAt,
        ])
      : await run<TaskRow & { created: boolean; conflict: boolean }>(sql.createTask, values);
    await client.query("COMMIT");
    const row = rows[0];
    if (!row) throw new StoreConflictError(spec.id, "its idempotency key changed concurrently");
    const task = toTaskRecord(row);
    if (!row.created) return { created: false, task, conflict: row.conflict };
    const claim = spec.claimFor;
    if (!claim) return { created: true, task };
    return {
      created: true,
      task,
      lease: { taskId: task.id, workerId: claim.workerId, revision: task.revision },
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
