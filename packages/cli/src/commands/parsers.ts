import { TaskStatus } from "@taskwire/core/store";
import { InvalidArgumentError } from "commander";

const STATUSES: readonly string[] = Object.values(TaskStatus);

/** `--status running,failed` → the statuses (an unknown one is a usage error). */
export function parseStatuses(value: string): TaskStatus[] {
  const statuses = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const unknown = statuses.filter((s) => !STATUSES.includes(s));
  if (statuses.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`Use one or more of ${STATUSES.join(", ")} (comma-separated).`);
  }
  return statuses as TaskStatus[];
}

/** An integer option within `[min, max]`. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** The `<json>` argument of `tasks signal`: any JSON value. */
export function parseJsonArgument(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(
      `It is not valid JSON (${reason}); quote it for the shell, e.g. '{"approved":true}'.`,
    );
  }
}
