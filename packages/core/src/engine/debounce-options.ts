import { z } from "zod";
import { ValidationError } from "../errors/taskwire-error";
import { toIssues } from "../task/validate";

/** Bounds of `StartOptions.debounce`: the key's length (as for idempotency keys) and the longest period. */
export const DEBOUNCE_LIMITS = Object.freeze({ maxKeyLength: 255, maxPeriodMs: 7 * 24 * 3_600_000 });

/**
 * `StartOptions.debounce`: starts of one task with the same `key` (per owner) within `periodMs` of each
 * other collapse into one run, with the latest input, `periodMs` after the last of them (trailing edge).
 */
export interface DebounceOptions {
  /** The key; per owner and task name. 1 to 255 characters. */
  key: string;
  /** The quiet period: the run starts this long after the latest start of the window. 1 ms to 7 days. */
  periodMs: number;
  /**
   * The longest a window may defer its run, from its first start: a steady stream of starts still runs at
   * least this often. At least `periodMs`, at most 7 days. @default no cap
   */
  maxWaitMs?: number;
}

const duration = z.number().int().positive().max(DEBOUNCE_LIMITS.maxPeriodMs);
const debounceSchema = z
  .object({
    key: z.string().min(1).max(DEBOUNCE_LIMITS.maxKeyLength),
    periodMs: duration,
    maxWaitMs: duration.optional(),
  })
  .strict()
  .refine((d) => d.maxWaitMs === undefined || d.maxWaitMs >= d.periodMs, {
    path: ["maxWaitMs"],
    message: "must be at least periodMs",
  });

/**
 * Checks a start's `debounce` option (and that it comes without `idempotencyKey`, which answers with an
 * existing run rather than folding into one); throws a `ValidationError` whose issue paths name the field
 * (`debounce.periodMs`). Resolves to the option, or `undefined` without one.
 */
export function checkDebounce(
  options: { debounce?: DebounceOptions; idempotencyKey?: string },
  what: string,
): DebounceOptions | undefined {
  if (options.debounce === undefined) return undefined;
  const parsed = debounceSchema.safeParse(options.debounce);
  if (!parsed.success) {
    const issues = toIssues(parsed.error.issues).map((issue) => ({
      ...issue,
      path: issue.path === "" ? "debounce" : `debounce.${issue.path}`,
    }));
    throw new ValidationError(what, issues);
  }
  if (options.idempotencyKey !== undefined) {
    throw new ValidationError(what, [
      { path: "debounce", message: "cannot be combined with idempotencyKey", code: "invalid_combination" },
    ]);
  }
  return parsed.data;
}
