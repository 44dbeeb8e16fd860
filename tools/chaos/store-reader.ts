import { decode } from "@taskwire/core/store";
import Database from "better-sqlite3";
import pg from "pg";
import type { ChaosStoreConfig } from "./node-config";

/** One task as the database holds it, values decoded. */
export interface StoredTask {
  id: string;
  name: string;
  parentId: string | null;
  owner: string;
  status: string;
  input: unknown;
  result: unknown;
  lastSeq: number;
  steps: Array<{ position: number; key: string; output: unknown; at: number }>;
  events: Array<{ seq: number; name: string; data: unknown }>;
}

/** The whole database after a run. */
export interface StoredState {
  tasks: StoredTask[];
  signals: Array<{
    taskId: string;
    name: string;
    idx: number;
    payload: unknown;
    idempotencyKey: string | null;
  }>;
}

type Row = Record<string, unknown>;

/**
 * Reads every task, checkpoint, event and signal straight from the store's tables, not through the
 * engine: SQLite through its own read-only better-sqlite3 connection, PostgreSQL through its own client.
 * Both stores share the column names; SQLite prefixes its tables `taskwire_`, PostgreSQL keeps them in
 * the run's schema.
 */
export async function readStoredState(store: ChaosStoreConfig): Promise<StoredState> {
  if (store.kind === "sqlite") {
    const db = new Database(store.path, { readonly: true, fileMustExist: true });
    try {
      return await assemble((table, columns, order) =>
        Promise.resolve(
          db.prepare(`SELECT ${columns} FROM taskwire_${table} ORDER BY ${order}`).all() as Row[],
        ),
      );
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: store.url });
  await client.connect();
  try {
    return await assemble(
      async (table, columns, order) =>
        (await client.query(`SELECT ${columns} FROM ${store.schema}.${table} ORDER BY ${order}`))
          .rows as Row[],
    );
  } finally {
    await client.end();
  }
}

type Select = (table: string, columns: string, order: string) => Promise<Row[]>;

async function assemble(select: Select): Promise<StoredState> {
  const taskRows = await select(
    "tasks",
    "id, name, parent_id, owner, status, input, result, last_seq",
    "created_at, id",
  );
  const stepRows = await select("steps", "task_id, position, key, output, at", "task_id, position");
  const eventRows = await select("events", "task_id, seq, name, data", "task_id, seq");
  const signalRows = await select(
    "signals",
    "task_id, name, idx, payload, idempotency_key",
    "task_id, name, idx",
  );
  const tasks = new Map<string, StoredTask>();
  for (const row of taskRows) {
    const id = String(row.id);
    tasks.set(id, {
      id,
      name: String(row.name),
      parentId: row.parent_id === null ? null : String(row.parent_id),
      owner: String(row.owner),
      status: String(row.status),
      input: decode(String(row.input)),
      result: row.result === null ? null : decode(String(row.result)),
      lastSeq: Number(row.last_seq),
      steps: [],
      events: [],
    });
  }
  for (const row of stepRows) {
    tasks.get(String(row.task_id))?.steps.push({
      position: Number(row.position),
      key: String(row.key),
      output: decode(String(row.output)),
      at: Number(row.at),
    });
  }
  for (const row of eventRows) {
    tasks.get(String(row.task_id))?.events.push({
      seq: Number(row.seq),
      name: String(row.name),
      data: decode(String(row.data)),
    });
  }
  const signals = signalRows.map((row) => ({
    taskId: String(row.task_id),
    name: String(row.name),
    idx: Number(row.idx),
    payload: decode(String(row.payload)),
    idempotencyKey: row.idempotency_key === null ? null : String(row.idempotency_key),
  }));
  return { tasks: [...tasks.values()], signals };
}
