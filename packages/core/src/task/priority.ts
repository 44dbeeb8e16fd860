import { ValidationError } from "../errors/taskwire-error";

/** Lowest and highest claim priority a start or spawn may ask for; 0 is the default. */
export const PRIORITY_RANGE = Object.freeze({ min: -10, max: 10 });

/**
 * Checks a `priority` option: an integer in {@link PRIORITY_RANGE}, or `undefined` (0). Throws a
 * `ValidationError` whose issue path is `priority` otherwise.
 * @example store.createTask({ ...spec, priority: checkPriority(options.priority, "start options") });
 */
export function checkPriority(priority: unknown, what: string): number {
  if (priority === undefined) return 0;
  if (
    Number.isInteger(priority) &&
    (priority as number) >= PRIORITY_RANGE.min &&
    (priority as number) <= PRIORITY_RANGE.max
  )
    return priority as number;
  throw new ValidationError(what, [
    {
      path: "priority",
      message: `must be an integer from ${PRIORITY_RANGE.min} to ${PRIORITY_RANGE.max}`,
      code: "invalid_priority",
    },
  ]);
}
