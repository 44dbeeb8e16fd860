import type { ServerResponse } from "node:http";

/** The response headers of every Taskwire SSE stream (SPEC 5). */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Type": "text/event-stream; charset=utf-8",
  // `no-transform` also keeps `compression()` and transforming proxies from buffering the stream.
  "Cache-Control": "no-cache, no-store, no-transform",
  // nginx buffers proxied responses unless told otherwise.
  "X-Accel-Buffering": "no",
});

/**
 * Starts an SSE response: status 200, the {@link SSE_HEADERS} plus `Vary: Origin`, and an initial `:`
 * comment written at once so headers reach the client (and every proxy) before the first event.
 * @example
 * setupSseHeaders(res);
 * writeSseFrame(res, { id: 0, event: "ready", data: { ok: true } });
 */
export function setupSseHeaders(res: ServerResponse): void {
  if (res.headersSent) throw new Error("setupSseHeaders: the response headers were already sent.");
  res.statusCode = 200;
  // A body size or encoding set by earlier middleware would corrupt an open-ended stream.
  res.removeHeader("Content-Length");
  res.removeHeader("Content-Encoding");
  for (const [name, value] of Object.entries(SSE_HEADERS)) res.setHeader(name, value);
  res.setHeader("Vary", mergeVary(res.getHeader("Vary"), "Origin"));
  res.socket?.setNoDelay(true);
  // One write sends the head and the comment together: the client sees the stream open immediately.
  res.write(":ok\n\n");
  flush(res);
}

/** Calls `res.flush()` when a compression middleware added one (it is a no-op otherwise). */
export function flush(res: ServerResponse): void {
  const withFlush = res as ServerResponse & { flush?: () => void };
  if (typeof withFlush.flush === "function") withFlush.flush();
}

function mergeVary(existing: ReturnType<ServerResponse["getHeader"]>, field: string): string {
  const current = Array.isArray(existing)
    ? existing.join(", ")
    : existing === undefined
      ? ""
      : String(existing);
  const fields = current
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
  if (fields.includes("*") || fields.some((f) => f.toLowerCase() === field.toLowerCase())) return current;
  return [...fields, field].join(", ");
}
