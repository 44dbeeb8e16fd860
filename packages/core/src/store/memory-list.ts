import type { TaskFilter, TaskRecord } from "./task-store";

/** `listTasks` over the memory store's records: the filter, newest first (`createdAt`, then id), copies. */
export function listSelection(tasks: Iterable<TaskRecord>, filter: TaskFilter): TaskRecord[] {
  const statuses = filter.status === undefined ? undefined : ([] as string[]).concat(filter.status);
  return [...tasks]
    .filter(
      (t) =>
        (filter.owner === undefined || t.owner === filter.owner) &&
        (filter.name === undefined || t.name === filter.name) &&
        (filter.parentId === undefined || t.parentId === filter.parentId) &&
        (statuses === undefined || statuses.includes(t.status)) &&
        (filter.after === undefined ||
          t.createdAt < filter.after.createdAt ||
          (t.createdAt === filter.after.createdAt && t.id < filter.after.id)),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, filter.limit ?? 100)
    .map((t) => ({ ...t }));
}
