import type { z } from "zod";
import { ValidationError, type ValidationIssue } from "../errors/taskwire-error";

/**
 * Parses `value` with `schema`; on failure throws a `ValidationError` whose message and issues name the
 * offending field (`what` says which boundary: `input of task "x"`, `event "progress"`).
 */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(what, toIssues(parsed.error.issues));
}

/** Converts zod issues to JSON-safe issues with dotted paths. */
export function toIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: issue.path.map((p) => (typeof p === "symbol" ? p.toString() : String(p))).join("."),
    message: issue.message,
    code: issue.code,
  }));
}
