import { followStream } from "./follow";

/** What one SSE read got. */
export interface StreamRead {
  /** Events parsed (the `ready` frame included). */
  events: number;
  /** The raw body, when asked for. */
  raw?: string;
}

/**
 * Reads a finished task's stream to its end (see {@link followStream}): the events parsed and, with
 * `capture`, the raw body as the server wrote it.
 */
export async function readStream(url: string, capture = false): Promise<StreamRead> {
  let events = 0;
  let raw = "";
  await followStream(
    url,
    () => {
      events += 1;
    },
    capture
      ? (chunk) => {
          raw += chunk;
        }
      : undefined,
  );
  return capture ? { events, raw } : { events };
}

/** Splits a captured SSE body into its blocks (each ending with the blank line), as a server wrote them. */
export function splitFrames(raw: string): string[] {
  return raw
    .split("\n\n")
    .filter((block) => block.length > 0)
    .map((block) => `${block}\n\n`);
}
