import type { SSEFrame, SSEParseResult } from "./sse-collector";
import { SSECollector } from "./sse-collector";

/** Options of {@link openSSE}. */
export interface OpenSSEOptions {
  headers?: Record<string, string>;
  /** @default "GET" */
  method?: string;
  /** A request body (JSON-encode it yourself and set Content-Type). */
  body?: string;
  /** Default deadline of `next()` and `waitFor…()`. @default 5000 */
  timeoutMs?: number;
  /** Called with each frame as it is parsed (to timestamp arrivals, say). */
  onFrame?: (frame: SSEFrame) => void;
}

/** A live SSE connection read with eventsource-parser. */
export interface SSEConnection extends SSEParseResult {
  readonly status: number;
  readonly headers: Headers;
  /** The next frame not yet returned by `next()`; rejects at the deadline or when the stream ends first. */
  next(timeoutMs?: number): Promise<SSEFrame>;
  /** Resolves with the first frame (from the start of the stream) matching `predicate`. */
  waitForFrame(predicate: (frame: SSEFrame) => boolean, timeoutMs?: number): Promise<SSEFrame>;
  /** Resolves once `count` comments equal to `text` arrived. */
  waitForComment(text: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream (or the connection drops). */
  readonly ended: Promise<void>;
  /** Whether the stream has ended. */
  readonly isEnded: boolean;
  /** Aborts the request (a client disconnect). */
  close(): void;
}

/**
 * Opens a live SSE stream with `fetch` and parses it as it arrives, so a test can await the next frame
 * with a deadline instead of sleeping. Non-2xx responses still resolve (check `status`).
 * @example
 * const sse = await openSSE(`${base}/api/tasks/${id}/events`, { headers: { "x-forwarded-user": "alice" } });
 * expect((await sse.next()).event).toBe("ready");
 * sse.close();
 */
export async function openSSE(url: string, options: OpenSSEOptions = {}): Promise<SSEConnection> {
  const controller = new AbortController();
  const defaultTimeout = options.timeoutMs ?? 5000;
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const notify = () => {
    wake();
    changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
  };
  const collector = new SSECollector((frame) => {
    options.onFrame?.(frame);
    notify();
  });
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers: { Accept: "text/event-stream", ...options.headers },
    body: options.body,
    signal: controller.signal,
  });
  let isEnded = false;
  const ended = (async () => {
    try {
      if (!response.body) return;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        collector.feed(value);
        notify();
      }
      collector.end();
    } catch {
      // Aborted by close() or dropped by the server: both just end the stream.
    } finally {
      isEnded = true;
      notify();
    }
  })();

  // Event-driven, not polled: re-checks only when the collector or the stream end wakes `changed`.
  const until = async <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (isEnded) throw new Error(`SSE stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([changed, new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
  };

  let cursor = 0;
  const { frames, comments } = collector.result;
  return {
    ...collector.result,
    status: response.status,
    headers: response.headers,
    ended,
    get isEnded() {
      return isEnded;
    },
    next: (timeoutMs = defaultTimeout) =>
      until(
        () => {
          const frame = frames[cursor];
          if (frame) cursor += 1;
          return frame;
        },
        timeoutMs,
        `frame #${cursor}`,
      ),
    waitForFrame: (predicate, timeoutMs = defaultTimeout) =>
      until(() => frames.find(predicate), timeoutMs, "a matching frame"),
    waitForComment: (text, count = 1, timeoutMs = defaultTimeout) =>
      until(
        () => (comments.filter((c) => c === text).length >= count ? true : undefined),
        timeoutMs,
        `${count} "${text}" comment(s)`,
      ).then(() => undefined),
    close: () => controller.abort(),
  };
}
