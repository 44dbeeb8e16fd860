import { request } from "node:http";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { BENCH_USER } from "./ticks-task";

/**
 * Follows an SSE stream as {@link BENCH_USER}, calling `onEvent` for each event parsed with
 * eventsource-parser (the `ready` frame included); resolves when the response ends, after checking the
 * last event was `completed`. `onChunk` sees the raw body as it arrives.
 */
export function followStream(
  url: string,
  onEvent: (event: EventSourceMessage) => void,
  onChunk?: (chunk: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = "";
    const parser = createParser({
      onEvent: (event) => {
        last = event.event ?? "message";
        try {
          onEvent(event);
        } catch (error) {
          reject(error);
        }
      },
    });
    const req = request(
      url,
      { headers: { "x-forwarded-user": BENCH_USER, accept: "text/event-stream" } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url} answered ${res.statusCode}`));
          return;
        }
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          onChunk?.(chunk);
          parser.feed(chunk);
        });
        res.on("end", () =>
          last === "completed" ? resolve() : reject(new Error(`stream ended after "${last}"`)),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
