import type { TaskFilter } from "@taskwire/core/store";
import type Database from "better-sqlite3";
import { TASK_COLUMNS, type TaskRow } from "./rows";
import { BOUND_LIMIT } from "./sql";

/** Default and fallback page size of `listTasks`. */
export const DEFAULT_LIST_LIMIT = 100;

/**
 * Builds `listTasks` queries. A filter's shape (which fields are set) picks the SQL; statements are cached
 * per shape, so at most 32 are ever prepared. A status list binds as one JSON array, keeping the shape fixed.
 */
export class ListTasksQuery {
  #db: Database.Database;
  #cache = new Map<string, Database.Statement<unknown[], TaskRow>>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  run(filter: TaskFilter): TaskRow[] {
    const { sql, params } = listTasksSql(filter);
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.#db.prepare<unknown[], TaskRow>(sql);
      this.#cache.set(sql, statement);
    }
    return statement.all(...params);
  }
}

/** The SQL and parameters of one `listTasks` call; the SQL depends only on which filter fields are set. */
export function listTasksSql(filter: TaskFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.owner !== undefined) {
    where.push("owner = ?");
    params.push(filter.owner);
  }
  if (filter.name !== undefined) {
    where.push("name = ?");
    params.push(filter.name);
  }
  if (filter.parentId !== undefined) {
    where.push("parent_id = ?");
    params.push(filter.parentId);
  }
  if (filter.status !== undefined) {
    where.push("status IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(([] as string[]).concat(filter.status)));
  }
  if (filter.after !== undefined) {
    where.push("(created_at, id) < (?, ?)");
    params.push(filter.after.createdAt, filter.after.id);
  }
  params.push(Math.max(0, filter.limit ?? DEFAULT_LIST_LIMIT));
  const sql = `SELECT ${TASK_COLUMNS} FROM taskwire_tasks ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY created_at DESC, id DESC ${BOUND_LIMIT}`;
  return { sql, params };
}
