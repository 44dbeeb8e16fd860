import { createParser, type EventSourceParser } from "eventsource-parser";

/** One parsed SSE frame. */
export interface SSEFrame {
  /** The `id:` field of this block (undefined when the block had none). */
  id: string | undefined;
  /** The `event:` field (undefined means the default `message`). */
  event: string | undefined;
  /** `data` parsed as JSON (the raw text when it is not JSON; see `rawData`). */
  data: unknown;
  /** The data lines joined by `\n`, as the browser sees them. */
  rawData: string;
  /** A `retry:` field sent in the same block. */
  retry: number | undefined;
}

/** Everything parsed from an SSE byte stream. */
export interface SSEParseResult {
  frames: SSEFrame[];
  /** Comment lines without the leading `:` and space (`"heartbeat"`). */
  comments: string[];
  /** Parser errors (unknown field, invalid retry). */
  errors: string[];
  /**
   * Framing rule breaks the parser tolerates silently: a BOM, CR line endings, a block with fields but
   * no `data:` line (an id-only block the browser would drop), data that is not JSON.
   */
  violations: string[];
}

/**
 * Incremental SSE collector over eventsource-parser: feed it chunks (as they arrive) and read frames,
 * comments and framing violations. Shared by `parseSSEResponse` and `openSSE`.
 */
export class SSECollector {
  readonly result: SSEParseResult = { frames: [], comments: [], errors: [], violations: [] };
  readonly #parser: EventSourceParser;
  readonly #onFrame: ((frame: SSEFrame) => void) | undefined;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #pendingRetry: number | undefined;
  #first = true;
  // Structural tracking of the current block, to spot blocks the parser would drop without a word.
  #line = "";
  #blockFields: string[] = [];

  constructor(onFrame?: (frame: SSEFrame) => void) {
    this.#onFrame = onFrame;
    this.#parser = createParser({
      onEvent: (message) => {
        let data: unknown = message.data;
        try {
          data = JSON.parse(message.data);
        } catch {
          this.result.violations.push(`data is not JSON: ${message.data.slice(0, 80)}`);
        }
        const frame: SSEFrame = {
          id: message.id,
          event: message.event,
          data,
          rawData: message.data,
          retry: this.#pendingRetry,
        };
        this.#pendingRetry = undefined;
        this.result.frames.push(frame);
        this.#onFrame?.(frame);
      },
      onRetry: (retry) => {
        this.#pendingRetry = retry;
      },
      onComment: (comment) => {
        this.result.comments.push(comment);
      },
      onError: (error) => {
        this.result.errors.push(error.message);
      },
    });
  }

  /** Feeds raw bytes (or text). */
  feed(chunk: Uint8Array | string): void {
    if (typeof chunk !== "string") {
      if (this.#first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf)
        this.result.violations.push("stream starts with a BOM");
      chunk = this.#decoder.decode(chunk, { stream: true });
    } else if (this.#first && chunk.charCodeAt(0) === 0xfeff) {
      this.result.violations.push("stream starts with a BOM");
    }
    if (chunk.length === 0) return;
    this.#first = false;
    this.#scan(chunk);
    this.#parser.feed(chunk);
  }

  /** Flushes the decoder; a trailing incomplete block is reported as a violation. */
  end(): SSEParseResult {
    const rest = this.#decoder.decode();
    if (rest) this.feed(rest);
    if (this.#line !== "" || this.#blockFields.length > 0)
      this.result.violations.push("stream ended inside an unterminated block");
    return this.result;
  }

  #scan(text: string): void {
    if (text.includes("\r")) this.result.violations.push("CR line ending");
    const lines = (this.#line + text).split("\n");
    this.#line = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        const fields = this.#blockFields;
        this.#blockFields = [];
        if (fields.length > 0 && !fields.includes("data"))
          this.result.violations.push(`block without data: ${fields.join(",")}`);
        if (fields.includes("data") && !fields.includes("id"))
          this.result.violations.push("frame without id");
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        this.#blockFields.push(colon < 0 ? line : line.slice(0, colon));
      }
    }
  }
}
