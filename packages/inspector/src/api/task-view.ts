import type { TaskSnapshot } from "@taskwire/core";
import { publicSnapshot } from "@taskwire/express";

/** How a task is shown: what the app's HTTP API answers, plus what an operator needs. */
export interface ViewOptions {
  production: boolean;
  showOwners: boolean;
}

/**
 * A task row of the inspector: the app's public snapshot (`taskId`, `task`, `status`, times, `lastSeq`,
 * `parentId?`, `error?`; the error masked as the app masks it) plus `attempt` and `cancelRequestedAt`,
 * and `owner` only when owners may be shown. `result` only with `withResult` (the list leaves it out).
 */
export function taskView(
  snapshot: TaskSnapshot,
  options: ViewOptions,
  withResult = false,
): Record<string, unknown> {
  const view = publicSnapshot(snapshot, options.production);
  if (!withResult) delete view.result;
  view.attempt = snapshot.attempt;
  if (snapshot.cancelRequestedAt !== undefined)
    view.cancelRequestedAt = snapshot.cancelRequestedAt.toISOString();
  if (options.showOwners) view.owner = snapshot.owner;
  return view;
}

/**
 * A value as plain JSON: `BigInt` as a decimal string, `Date` as ISO (by `toJSON`), `undefined` dropped;
 * `undefined` itself becomes `null`.
 */
export function jsonSafe(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
  return text === undefined ? null : JSON.parse(text);
}
