import type { IncomingMessage } from "node:http";

const CANONICAL = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a `Last-Event-ID` value: a canonical non-negative integer (`"0"`, `"42"`), clamped to
 * `Number.MAX_SAFE_INTEGER`. Anything else (`"01"`, `"-1"`, `"1.5"`, `" 1"`, `"abc"`, arrays) is
 * treated as absent and yields `undefined`.
 * @example parseLastEventId("7") // 7
 */
export function parseLastEventId(value: unknown): number | undefined {
  if (typeof value !== "string" || !CANONICAL.test(value)) return undefined;
  const n = Number(value);
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/**
 * The seq a stream resumes after: the `Last-Event-ID` header, else the `?lastEventId=` query parameter
 * (for clients that cannot set headers), else 0 (full replay). The header wins when both are valid,
 * since a reconnecting browser sends its newest id there; an invalid value counts as absent.
 */
export function resolveResumeCursor(req: IncomingMessage): number {
  const header = parseLastEventId(req.headers["last-event-id"]);
  if (header !== undefined) return header;
  return parseLastEventId(queryParam(req, "lastEventId")) ?? 0;
}

function queryParam(req: IncomingMessage, name: string): string | undefined {
  // Express has parsed `req.query`, but plain `http` requests only carry the raw URL.
  const query = (req as IncomingMessage & { query?: Record<string, unknown> }).query;
  if (query && typeof query === "object") {
    const value = query[name];
    return typeof value === "string" ? value : undefined;
  }
  const url = req.url ?? "";
  const at = url.indexOf("?");
  if (at < 0) return undefined;
  const params = new URLSearchParams(url.slice(at + 1));
  return params.getAll(name).length === 1 ? (params.get(name) ?? undefined) : undefined;
}
