import { SSECollector, type SSEParseResult } from "./sse-collector";

/** The raw-body parser handed to supertest's `.parse()`: collects the bytes of the (streamed) body. */
export function collectRawBody(res: unknown, callback: (error: Error | null, body: Buffer) => void): void {
  // superagent hands the parser the raw Node response stream (typed as its own Response).
  const stream = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer | string) =>
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)),
  );
  stream.on("end", () => callback(null, Buffer.concat(chunks)));
  stream.on("error", (error: Error) => callback(error, Buffer.concat(chunks)));
}

/** A supertest request (or any superagent-like request) before it is awaited. */
export interface BufferableRequest<TResponse> extends PromiseLike<TResponse> {
  buffer(value?: boolean): this;
  parse(fn: typeof collectRawBody): this;
}

/** A response whose body holds raw bytes (from {@link collectRawBody}) or text. */
export interface RawBodyResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

/** {@link SSEParseResult} plus the HTTP parts of the response. */
export interface ParsedSSEResponse extends SSEParseResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes (for byte-level checks such as "no BOM"). */
  raw: Buffer;
}

/**
 * Parses a finished SSE response with eventsource-parser. Pass the supertest request itself (its body
 * is collected raw with `.buffer(true).parse(collectRawBody)`), or a response obtained that way.
 * @example
 * const sse = await parseSSEResponse(request(app).get(`/api/tasks/${id}/events`).set(user));
 * expect(sse.frames.map((f) => f.event)).toEqual(["ready", "progress", "completed"]);
 */
export async function parseSSEResponse<TResponse extends RawBodyResponse>(
  res: BufferableRequest<TResponse> | RawBodyResponse,
): Promise<ParsedSSEResponse> {
  const response: RawBodyResponse = isRequest(res) ? await res.buffer(true).parse(collectRawBody) : res;
  const raw = Buffer.isBuffer(response.body)
    ? response.body
    : Buffer.from(typeof response.text === "string" ? response.text : "", "utf8");
  const collector = new SSECollector();
  collector.feed(new Uint8Array(raw));
  const result = collector.end();
  return { ...result, status: response.status, headers: response.headers, raw };
}

function isRequest<T>(value: BufferableRequest<T> | RawBodyResponse): value is BufferableRequest<T> {
  return typeof (value as BufferableRequest<T>).buffer === "function";
}
