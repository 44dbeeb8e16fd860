import type { ServerResponse } from "node:http";
import { EVENT_NAME_PATTERN, RESERVED_EVENT_NAMES } from "@taskwire/core";
import { flush } from "./headers";

/**
 * Event names only the bridge itself writes (the reserved names it owns): `ready`, the terminal events,
 * `interrupted`, and `child`, the bridge event a parent's WAL gets when a child is created and settles.
 */
export const BRIDGE_EVENT_NAMES = [
  "ready",
  "completed",
  "failed",
  "cancelled",
  "interrupted",
  "child",
] as const;

/** One of {@link BRIDGE_EVENT_NAMES}. */
export type BridgeEventName = (typeof BRIDGE_EVENT_NAMES)[number];

/** One SSE frame: every Taskwire frame carries an id, an event name and JSON data. */
export interface SseFrame {
  /** The seq this frame stands for (a non-negative safe integer); becomes the client's `Last-Event-ID`. */
  id: number;
  /** A bridge event name or a plugin event name matching `EVENT_NAME_PATTERN` (not reserved). */
  event: string;
  /**
   * JSON payload. `BigInt` values are written as decimal strings and `Date`s as ISO-8601 strings (the
   * wire is plain JSON; the WAL keeps the exact types). `undefined` is written as `null`.
   */
  data: unknown;
  /** Reconnection delay for the client, in ms. */
  retry?: number;
}

/** Formatting options of {@link formatSseFrame}. */
export interface SseFrameFormatOptions {
  /** Pretty-print the JSON (debugging); its newlines become several `data:` lines. @default undefined */
  space?: number;
}

const BRIDGE_NAMES: ReadonlySet<string> = new Set(BRIDGE_EVENT_NAMES);

/** Whether `event` may appear on the wire: a bridge name, or a well-formed, non-reserved plugin name. */
export function isWireEventName(event: unknown): event is string {
  if (typeof event !== "string") return false;
  if (BRIDGE_NAMES.has(event)) return true;
  return EVENT_NAME_PATTERN.test(event) && !RESERVED_EVENT_NAMES.includes(event);
}

/**
 * Serializes SSE data as JSON: BigInt → decimal string, Date → ISO string (via `Date#toJSON`).
 * @example toSseJson({ n: 10n }) // '{"n":"10"}'
 */
export function toSseJson(data: unknown, space?: number): string {
  return JSON.stringify(data === undefined ? null : data, jsonReplacer, space) ?? "null";
}

/** JSON.stringify replacer shared by SSE frames and HTTP bodies. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * Formats one frame: `retry:`, `id:`, `event:`, then one `data:` line per line of JSON, LF endings, a
 * blank line. Throws a `TypeError` for a malformed id, retry or event name, so no CR/LF, reserved
 * name (`error`, `message`, …) or id-less block can reach the wire.
 */
export function formatSseFrame(frame: SseFrame, options: SseFrameFormatOptions = {}): string {
  const head = frameHead(frame.id, frame.event);
  let out = "";
  if (frame.retry !== undefined) {
    if (!Number.isSafeInteger(frame.retry) || frame.retry < 0)
      throw new TypeError(`SSE retry must be a non-negative integer, got ${String(frame.retry)}.`);
    out += `retry: ${frame.retry}\n`;
  }
  out += head;
  // JSON.stringify escapes newlines inside strings; only `space` (or a hostile toJSON) can add raw ones.
  for (const line of toSseJson(frame.data, options.space).split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Formats a frame whose data is already one line of JSON (no CR or LF: what `JSON.stringify` writes
 * without `space`), such as a WAL event's stored text; the id and name are checked as in {@link formatSseFrame}.
 */
export function formatSseJsonFrame(id: number, event: string, json: string): string {
  const head = frameHead(id, event);
  if (/[\r\n]/.test(json)) throw new TypeError("SSE JSON data must be one line.");
  return `${head}data: ${json}\n\n`;
}

/** The checked `id:` and `event:` lines every frame starts with (a malformed id or name is a TypeError). */
function frameHead(id: number, event: string): string {
  if (!Number.isSafeInteger(id) || id < 0)
    throw new TypeError(`SSE frame id must be a non-negative safe integer, got ${String(id)}.`);
  if (!isWireEventName(event))
    throw new TypeError(`SSE event name ${JSON.stringify(event)} is reserved or malformed.`);
  return `id: ${id}\nevent: ${event}\n`;
}

/**
 * Writes one frame with exactly one `res.write()` (so frames never interleave with heartbeats) and
 * returns what `write` returned (`false`: the buffer is over its high-water mark — wait for `drain`).
 * @example writeSseFrame(res, { id: 3, event: "progress", data: { done: 1, total: 2 } });
 */
export function writeSseFrame(
  res: ServerResponse,
  frame: SseFrame,
  options?: SseFrameFormatOptions,
): boolean {
  const text = formatSseFrame(frame, options);
  const ok = res.write(text);
  flush(res);
  return ok;
}

/**
 * Writes an SSE comment (`: text`), one `res.write()`; a multi-line text becomes several comment lines.
 * @example writeSseComment(res, "heartbeat");
 */
export function writeSseComment(res: ServerResponse, text: string): boolean {
  const lines = text.split(/\r\n|\r|\n/).map((line) => (line ? `: ${line}` : ":"));
  const ok = res.write(`${lines.join("\n")}\n\n`);
  flush(res);
  return ok;
}
