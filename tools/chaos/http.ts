import type { Prng } from "../crash/prng";
import type { Cluster } from "./cluster";

/** A parsed HTTP answer. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

/** A request as one user (the default resolver's trusted-proxy header). */
export interface UserRequest {
  user: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** @default 5000 */
  timeoutMs?: number;
}

/** One request to one node; rejects on a network error (refused, reset, timed out). */
export async function request(base: string, path: string, req: UserRequest): Promise<HttpAnswer> {
  const headers: Record<string, string> = { "x-forwarded-user": req.user, ...req.headers };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method: req.method ?? "GET",
    headers,
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    signal: AbortSignal.timeout(req.timeoutMs ?? 5000),
  });
  // A stream (an SSE answer) is not read: its status is what the caller wants.
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, body: "<event stream>" };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text for the report
  }
  return { status: response.status, body };
}

/** Waits `ms` (the harness's own pacing, never a synchronisation of the system under test). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Uniformly picks one element. */
export const pick = <T>(rng: Prng, items: readonly T[]): T | undefined =>
  items.length === 0 ? undefined : items[rng.int(0, items.length - 1)];

/**
 * Sends `req` to a random live node, again and again (to another random live node) while the answer is
 * a network error or 503 (the node died or is shutting down), until `deadline`. Requests that change
 * state must therefore be idempotent (an `Idempotency-Key`): a lost answer does not say whether the
 * write committed. Resolves with the first other answer, or `undefined` at the deadline.
 */
export async function requestAnyNode(
  cluster: Cluster,
  rng: Prng,
  path: string,
  req: UserRequest,
  deadline: number,
): Promise<HttpAnswer | undefined> {
  while (Date.now() < deadline) {
    const url = pick(rng, cluster.live())?.url;
    if (url !== undefined) {
      try {
        const answer = await request(url, path, req);
        if (answer.status !== 503) return answer;
      } catch {
        // the node went away mid-request: try another
      }
    }
    await sleep(rng.int(20, 80));
  }
  return undefined;
}
