import { createServer, type Server, type ServerResponse } from "node:http";

/** The same headers as a Taskwire SSE response (packages/express/src/sse/headers.ts). */
const HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-store, no-transform",
  "X-Accel-Buffering": "no",
  Vary: "Origin",
};

/**
 * Writes `frames` (each a complete SSE block, the first the `:ok` comment) one `write()` per frame, as
 * Taskwire does, waiting for `drain` when the socket buffer is full, then ends the response.
 */
async function writeFrames(res: ServerResponse, frames: readonly string[]): Promise<void> {
  res.writeHead(200, HEADERS);
  res.socket?.setNoDelay(true);
  for (const frame of frames) {
    if (res.destroyed) return;
    if (!res.write(frame)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
}

/**
 * The bare limit of SSE delivery: a plain `node:http` server that serves pre-formatted frames — the exact
 * bytes a Taskwire stream sent, captured by the bench — with no store, no framework and no per-event
 * work. `GET /streams/<name>` serves `streams[name]`; other paths go to `extra` (404 without).
 */
export function createBareSseServer(
  streams: Readonly<Record<string, readonly string[]>>,
  extra?: (url: string, res: ServerResponse) => boolean,
): Server {
  return createServer((req, res) => {
    const url = req.url ?? "/";
    const frames = url.startsWith("/streams/") ? streams[url.slice("/streams/".length)] : undefined;
    if (frames) {
      void writeFrames(res, frames);
      return;
    }
    if (extra?.(url, res)) return;
    res.writeHead(404).end();
  });
}
