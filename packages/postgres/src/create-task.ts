import {
  type CreateTaskResult,
  type NewTask,
  newTaskRecord,
  retryAfterMsFor,
  StoreConflictError,
} from "@taskwire/core/store";
import { type TaskRow, toTaskRecord } from "./rows";
import type { StoreDb } from "./store-db";

/**
 * `TaskStore.createTask`: one statement (the idempotent form re-reads once when a concurrent start
 * committed the key after its snapshot), or, under a limit (`maxActivePerOwner`, `startRate`,
 * `maxQueued`), {@link createLimited}.
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
  if (spec.maxActivePerOwner !== undefined || spec.startRate !== undefined || spec.maxQueued !== undefined) {
    return createLimited(db, schema, spec, values);
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
 * `createTask` under its limits, in one transaction whose locks are always taken in this order (so two
 * limited creates never deadlock): the owner's advisory lock (`maxActivePerOwner`: concurrent limited
 * starts of one owner are serialised), the owner's bucket row (`startRate`: taken by an upsert), the
 * queue lock (`maxQueued`). A live idempotency key attaches first (even at a limit, charging nothing);
 * then each limit; then the ordinary insert. Read committed: each statement sees the creates of whoever
 * held the lock before. A refusal, or an attach found only at the insert, rolls the transaction back, so
 * it writes nothing (in particular takes no token).
 */
async function createLimited(
  db: StoreDb,
  schema: string,
  spec: NewTask,
  values: unknown[],
): Promise<CreateTaskResult> {
  const { sql } = db;
  try {
    return await db.transaction(async (run) => {
      const idem = spec.idempotency;
      const readKey = async () =>
        idem
          ? run<CreatedRow>(sql.readIdempotent, [spec.owner, spec.name, idem.key, idem.inputHash, spec.now])
          : [];
      if (spec.maxActivePerOwner !== undefined) await run(sql.lockOwner, [schema, spec.owner]);
      const [held] = await readKey();
      if (held) throw new Undo(toCreateResult(held, spec));
      if (spec.maxActivePerOwner !== undefined) {
        const [count] = await run<{ active: number }>(sql.countActive, [spec.owner]);
        const active = count?.active ?? 0;
        if (active >= spec.maxActivePerOwner) {
          throw new Undo({ created: false, limited: true, limit: "maxActivePerOwner", active });
        }
      }
      const rate = spec.startRate;
      if (rate) {
        const [bucket] = await run<{ tokens: number }>(sql.takeToken, [
          spec.owner,
          rate.perSecond,
          rate.burst,
          spec.now,
        ]);
        const left = bucket?.tokens ?? 0;
        // Same tolerance as core's takeStartToken: a refill landing a hair below one token admits.
        if (left < -1e-9) {
          const retryAfterMs = retryAfterMsFor(left + 1, rate);
          throw new Undo({ created: false, limited: true, limit: "startRate", retryAfterMs });
        }
      }
      if (spec.maxQueued !== undefined && !spec.claimFor) {
        await run(sql.lockQueued, [schema]);
        const [count] = await run<{ queued: number }>(sql.countQueued, []);
        const queued = count?.queued ?? 0;
        if (queued >= spec.maxQueued)
          throw new Undo({ created: false, limited: true, limit: "maxQueued", queued });
      }
      let rows = idem
        ? await run<CreatedRow>(sql.createIdempotent, [...values, idem.key, idem.inputHash, idem.expiresAt])
        : await run<CreatedRow>(sql.createTask, values);
      // As on the unlimited path: a start without the owner lock may have committed the key after this
      // statement's snapshot; the re-read (a new statement) sees it. An attach found here charged a token
      // above: undo it.
      if (idem && rows.length === 0) rows = await readKey();
      const result = toCreateResult(rows[0], spec);
      if (!result.created) throw new Undo(result);
      return result;
    });
  } catch (error) {
    if (error instanceof Undo) return error.result;
    throw error;
  }
}

/** Thrown inside the create transaction to roll it back and answer `result` (a refusal or an attach). */
class Undo extends Error {
  constructor(readonly result: CreateTaskResult) {
    super("createTask rolled back");
  }
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
