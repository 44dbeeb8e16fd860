import {
  type CreateTaskResult,
  claimsAtInsert,
  type DebounceSpec,
  type NewTask,
  newTaskRecord,
  retryAfterMsFor,
  StoreConflictError,
} from "@taskwire/core/store";
import { type TaskRow, toTaskRecord } from "./rows";
import type { StoreDb } from "./store-db";
import type { Run } from "./transaction";

/**
 * `TaskStore.createTask`: one statement (the idempotent form re-reads once when a concurrent start
 * committed the key after its snapshot), or, under a limit (`maxActivePerOwner`, `startRate`,
 * `maxQueued`), {@link createLimited}, or, debounced, {@link createDebounced}.
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
  if (spec.debounce) return createDebounced(db, schema, { ...spec, debounce: spec.debounce }, values);
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
  try {
    return await db.transaction((run) => insertLimited(db, run, schema, spec, values));
  } catch (error) {
    if (error instanceof Undo) return error.result;
    throw error;
  }
}

/**
 * The body of {@link createLimited}, inside the caller's transaction: resolves to the created task, or
 * throws {@link Undo} (the caller rolls back and answers its result) for a refusal or an attach.
 */
async function insertLimited(
  db: StoreDb,
  run: Run,
  schema: string,
  spec: NewTask,
  values: unknown[],
): Promise<CreateTaskResult> {
  const { sql } = db;
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
  if (spec.maxQueued !== undefined && !claimsAtInsert(spec)) {
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
}

/**
 * A debounced `createTask`, in one transaction. The key's row is upserted first (its lock serialises the
 * starts of one key on every node, and is the first lock taken, before the task row and the limit locks,
 * so the lock order stays acyclic). A start that finds its window's task still queued and never claimed
 * updates it and commits; otherwise it moves the window to a new task inserted under the limits (a
 * refusal rolls the whole transaction back: the window row too).
 */
async function createDebounced(
  db: StoreDb,
  schema: string,
  spec: NewTask & { debounce: DebounceSpec },
  values: unknown[],
): Promise<CreateTaskResult> {
  const { sql } = db;
  const { maxWaitMs, key } = spec.debounce;
  const maxRunAt = maxWaitMs === undefined ? null : spec.now + maxWaitMs;
  const keyOf = [spec.owner, spec.name, key, spec.id, maxRunAt];
  try {
    return await db.transaction(async (run) => {
      const [window] = await run<DebounceRow>(sql.lockDebounce, keyOf);
      if (window && !window.opened) {
        const cap = window.max_run_at === null ? spec.runAt : Number(window.max_run_at);
        const fold = [window.task_id, spec.input, spec.identity, Math.min(spec.runAt, cap), spec.now];
        const [row] = await run<TaskRow>(sql.foldDebounced, fold);
        if (row) return { created: false, task: toTaskRecord(row), conflict: false, debounced: true };
        await run(sql.moveDebounce, keyOf);
      }
      // Never attached by an idempotency key: the two are not combined (see `NewTask.debounce`).
      return insertLimited(db, run, schema, { ...spec, idempotency: undefined }, values);
    });
  } catch (error) {
    if (error instanceof Undo) return error.result;
    throw error;
  }
}

/** The key's window row as `lockDebounce` returns it. */
interface DebounceRow {
  task_id: string;
  max_run_at: string | null;
  opened: boolean;
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
