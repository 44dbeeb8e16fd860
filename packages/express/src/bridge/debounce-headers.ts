import { DEBOUNCE_LIMITS, type DebounceOptions } from "@taskwire/core";
import type { Request } from "express";
import { BadRequestError } from "../http-errors/errors";

/** The request headers of a debounced start (`POST /tasks/:name`). */
export const DEBOUNCE_HEADERS = Object.freeze({
  key: "Debounce-Key",
  periodMs: "Debounce-Period-Ms",
  maxWaitMs: "Debounce-Max-Wait-Ms",
});

// Visible ASCII only, as for Idempotency-Key: proxies and logs mangle anything else.
const KEY = new RegExp(`^[\\x21-\\x7e]{1,${DEBOUNCE_LIMITS.maxKeyLength}}$`);
const MILLISECONDS = /^[1-9][0-9]{0,15}$/;

/**
 * The `debounce` start option from the `Debounce-Key`, `Debounce-Period-Ms` and optional
 * `Debounce-Max-Wait-Ms` headers; `undefined` when none is sent. A key of 1-255 visible ASCII characters,
 * whole milliseconds from 1 to 7 days, a max wait at least the period, and no `Idempotency-Key` with them:
 * anything else is a `BadRequestError` (400) whose `details.field` names the header.
 */
export function debounceFromHeaders(req: Request): DebounceOptions | undefined {
  const key = req.get(DEBOUNCE_HEADERS.key);
  const period = req.get(DEBOUNCE_HEADERS.periodMs);
  const maxWait = req.get(DEBOUNCE_HEADERS.maxWaitMs);
  if (key === undefined && period === undefined && maxWait === undefined) return undefined;
  const bad = (field: string, rule: string): never => {
    throw new BadRequestError(`The ${field} header ${rule}.`, { field });
  };
  if (key === undefined || !KEY.test(key))
    bad(DEBOUNCE_HEADERS.key, "must be 1-255 visible ASCII characters");
  const periodMs = milliseconds(period, DEBOUNCE_HEADERS.periodMs, bad);
  if (periodMs === undefined) return bad(DEBOUNCE_HEADERS.periodMs, "is required with a Debounce-Key");
  const maxWaitMs = milliseconds(maxWait, DEBOUNCE_HEADERS.maxWaitMs, bad);
  if (maxWaitMs !== undefined && maxWaitMs < periodMs)
    bad(DEBOUNCE_HEADERS.maxWaitMs, "must be at least the Debounce-Period-Ms");
  if (req.get("Idempotency-Key") !== undefined)
    bad(DEBOUNCE_HEADERS.key, "cannot be combined with an Idempotency-Key");
  return maxWaitMs === undefined
    ? { key: key as string, periodMs }
    : { key: key as string, periodMs, maxWaitMs };
}

function milliseconds(
  value: string | undefined,
  field: string,
  bad: (field: string, rule: string) => never,
): number | undefined {
  if (value === undefined) return undefined;
  const ms = MILLISECONDS.test(value) ? Number(value) : Number.NaN;
  if (!(ms <= DEBOUNCE_LIMITS.maxPeriodMs))
    bad(field, "must be whole milliseconds from 1 to 604800000 (7 days)");
  return ms;
}
