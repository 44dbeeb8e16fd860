import { ClientErrorCode, errorFromResponse, TaskwireClientError } from "./errors";

/** Options of `createTaskClient`. */
export interface TaskClientOptions {
  /** Where the task router is mounted, absolute (`https://host/api`) or, in a browser, relative (`/api`). */
  baseUrl: string;
  /** The `fetch` to use (a test double, an instrumented fetch). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Headers sent with every request (e.g. `Authorization`). A function is called before each request,
   * including every reconnect, so it can hand out a fresh token.
   * @default {}
   */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
  /** `fetch`'s `credentials` (`"include"` sends cookies cross-origin). @default fetch's own default */
  credentials?: RequestCredentials;
}

/** What a request needs beyond the method and path. */
export interface RequestSettings {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** The transport shared by every method of a client: URL building, headers, fetch, JSON errors. */
export class HttpTransport {
  readonly #base: string;
  readonly #options: TaskClientOptions;

  constructor(options: TaskClientOptions) {
    if (typeof options?.baseUrl !== "string")
      throw new TypeError("createTaskClient: baseUrl is required (e.g. '/api').");
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#options = options;
  }

  /** `baseUrl` + `path`, where `path` segments are already encoded. */
  url(path: string): string {
    return `${this.#base}${path}`;
  }

  /** Sends a request; a network failure becomes `NETWORK_ERROR`, an abort rejects with the signal's reason. */
  async send(method: string, path: string, settings: RequestSettings = {}): Promise<Response> {
    const headers = new Headers(await this.#resolveHeaders());
    for (const [name, value] of Object.entries(settings.headers ?? {})) headers.set(name, value);
    const init: RequestInit = { method, headers, signal: settings.signal ?? null };
    if (this.#options.credentials !== undefined) init.credentials = this.#options.credentials;
    if (settings.body !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = JSON.stringify(settings.body, bigintReplacer);
    }
    // Call through globalThis at request time: a detached `fetch` throws "Illegal invocation" in browsers.
    const doFetch = this.#options.fetch ?? ((input, options) => globalThis.fetch(input, options));
    try {
      return await doFetch(this.url(path), init);
    } catch (error) {
      if (settings.signal?.aborted) throw settings.signal.reason;
      throw new TaskwireClientError(
        ClientErrorCode.NETWORK_ERROR,
        `${method} ${path} failed: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Sends a JSON request and parses the 2xx JSON answer; any other status becomes a client error. */
  async json<T>(method: string, path: string, settings: RequestSettings = {}): Promise<T> {
    const response = await this.send(method, path, {
      ...settings,
      headers: { Accept: "application/json", ...settings.headers },
    });
    if (!response.ok) throw await errorFromResponse(response);
    try {
      return (await response.json()) as T;
    } catch (error) {
      if (settings.signal?.aborted) throw settings.signal.reason;
      throw new TaskwireClientError(
        ClientErrorCode.PROTOCOL_ERROR,
        `${method} ${path} answered ${response.status} without a JSON body.`,
        { status: response.status, cause: error },
      );
    }
  }

  async #resolveHeaders(): Promise<HeadersInit> {
    const { headers } = this.#options;
    return (typeof headers === "function" ? await headers() : headers) ?? {};
  }
}

/** Encodes one path segment (task names and ids). */
export function segment(value: string): string {
  if (typeof value !== "string" || value === "")
    throw new TypeError(`Expected a non-empty string, got ${JSON.stringify(value)}.`);
  return encodeURIComponent(value);
}

/**
 * Input crosses HTTP as JSON: a BigInt travels as a decimal string (a `Date` as its ISO string, by its
 * `toJSON`), which a task accepts only through `z.coerce.bigint()` / `z.coerce.date()`.
 */
function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** A short description of a thrown value, for messages. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
