import { isTerminalStatus, type PurgeRequest, type TaskRecord } from "./task-store";

/** A non-negative whole number of rows (what a store's LIMIT accepts). */
export function rowLimit(limit: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(limit) || 0));
}

/**
 * The ids a memory-store purge deletes: up to `limit` terminal roots finished before the cutoff, oldest
 * first, whose whole tree is terminal, each followed by all its descendants.
 */
export function purgeSelection(tasks: Iterable<TaskRecord>, request: PurgeRequest): string[] {
  const children = new Map<string, TaskRecord[]>();
  const roots: TaskRecord[] = [];
  for (const task of tasks) {
    if (task.parentId === null) {
      if (isTerminalStatus(task.status) && task.updatedAt < request.finishedBefore) roots.push(task);
      continue;
    }
    const siblings = children.get(task.parentId);
    if (siblings) siblings.push(task);
    else children.set(task.parentId, [task]);
  }
  roots.sort((a, b) => a.updatedAt - b.updatedAt);
  const limit = rowLimit(request.limit);
  const selected: string[] = [];
  let taken = 0;
  for (const root of roots) {
    if (taken >= limit) break;
    const tree = [root];
    for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!.id) ?? []));
    if (!tree.every((t) => isTerminalStatus(t.status))) continue;
    taken += 1;
    for (const t of tree) selected.push(t.id);
  }
  return selected;
}

/** The ids of up to `limit` tasks of `owner`, newest first (the listing order). */
export function ownerSelection(tasks: Iterable<TaskRecord>, owner: string, limit: number): string[] {
  return [...tasks]
    .filter((t) => t.owner === owner)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, rowLimit(limit))
    .map((t) => t.id);
}
