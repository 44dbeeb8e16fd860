import type { TaskFilter } from "@taskwire/core/store";

/**
 * The text and values of one `listTasks` call over `base` (`SELECT … FROM tasks`), newest first. The text
 * depends only on which filter fields are set; `limit` is the already-normalised row count.
 */
export function listTasksQuery(
  base: string,
  filter: TaskFilter,
  limit: number,
): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (condition: (...params: string[]) => string, ...added: unknown[]) => {
    const params = added.map((value) => `$${values.push(value)}`);
    where.push(condition(...params));
  };
  if (filter.owner !== undefined) add((p) => `owner = ${p}::text`, filter.owner);
  if (filter.name !== undefined) add((p) => `name = ${p}::text`, filter.name);
  if (filter.parentId !== undefined) add((p) => `parent_id = ${p}::text`, filter.parentId);
  if (filter.status !== undefined) add((p) => `status = ANY(${p}::text[])`, [filter.status].flat());
  if (filter.after !== undefined) {
    const { createdAt, id } = filter.after;
    add((at, key) => `(created_at, id) < (${at}::bigint, ${key}::text)`, createdAt, id);
  }
  values.push(limit);
  const text = `${base}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, id DESC LIMIT $${values.length}::bigint`;
  return { text, values };
}
