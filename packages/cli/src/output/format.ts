/** ISO 8601 time of an epoch-milliseconds value (`null` stays `null`). */
export function isoTime(ms: number | null | undefined): string | null {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** A short relative age: `45s`, `12m`, `3h`, `9d`. */
export function age(ms: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** A time for humans: ISO plus its age (`2025-05-01T10:00:00.000Z (3m ago)`). */
export function timeWithAge(ms: number, now: number): string {
  return `${isoTime(ms)} (${age(ms, now)} ago)`;
}

/** A duration: `840 ms`, `2.4 s`, `3m 05s`. */
export function duration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
}

/** JSON text of a decoded value (BigInt as a string), for sensitive values shown on request. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "null";
}
