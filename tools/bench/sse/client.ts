import { request } from "node:http";
import { createParser } from "eventsource-parser";
import { BENCH_USER } from "./ticks-task";

/** What one SSE read got. */
export interface StreamRead {
  /** Events parsed (the `ready` frame included). */
  events: number;
  /** The raw body, when asked for. */
  raw?: string;
}

/**
 * GETs `url` as {@link BENCH_USER} and parses the body with eventsource-parser until the response ends;
 * throws unless it answered 200 and the last event was `completed`. `capture` keeps the raw text.
 */
export function readStream(url: string, capture = false): Promise<StreamRead> {
  return new Promise((resolve, reject) => {
    let events = 0;
    let last = "";
    let raw = "";
    const parser = createParser({
      onEvent: (event) => {
        events += 1;
        last = event.event ?? "message";
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
          if (capture) raw += chunk;
          parser.feed(chunk);
        });
        res.on("end", () => {
          if (last !== "completed") reject(new Error(`stream ${url} ended after "${last}", not completed`));
          else resolve(capture ? { events, raw } : { events });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Splits a captured SSE body into its blocks (each ending with the blank line), as a server wrote them. */
export function splitFrames(raw: string): string[] {
  return raw
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => `${block}\n\n`);
}
