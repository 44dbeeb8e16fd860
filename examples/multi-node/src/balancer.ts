import http from "node:http";
import type { AddressInfo } from "node:net";

/** A node the balancer may send requests to. */
export interface BalancerTarget {
  name: string;
  port: number;
}

/** Options of {@link startBalancer}. */
export interface BalancerOptions {
  /** Port to listen on (0 picks a free one). */
  port: number;
  /** The current nodes, asked per request. */
  targets: () => readonly BalancerTarget[];
  /** Largest request body it buffers (bodies are buffered so a refused request can go to the next node). */
  maxBodyBytes?: number;
}

/** A running balancer. */
export interface Balancer {
  readonly port: number;
  close(): Promise<void>;
}

// The body is buffered and re-sent with its own content-length, so the client's framing
// (transfer-encoding) must not be forwarded either.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "transfer-encoding",
]);

/**
 * A tiny round-robin HTTP proxy standing in for the load balancer in front of a real cluster: each
 * request goes to the next node; a node that refuses the connection (it is dead) is skipped. Responses
 * are streamed as they arrive (SSE included) and carry `X-Taskwire-Node`; when a node dies in the middle
 * of a response, the client's connection is cut too, so an `EventSource` reconnects (with
 * `Last-Event-ID`) and lands on a live node. Demo code: no health checks, no TLS, no limits beyond the body.
 */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        res.writeHead(413, { "content-type": "application/json" }).end('{"error":{"code":"BODY_TOO_LARGE"}}');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const targets = [...options.targets()];
      const start = next++;
      const order = targets.map((_, i) => targets[(start + i) % targets.length]!);
      forward(req, res, Buffer.concat(chunks), order);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  targets: BalancerTarget[],
): void {
  const target = targets.shift();
  if (!target) {
    res.writeHead(502, { "content-type": "application/json" });
    res.end('{"error":{"code":"NO_LIVE_NODE","message":"No node accepted the connection."}}');
    return;
  }
  const headers = { ...req.headers };
  for (const name of HOP_BY_HOP) delete headers[name];
  const upstream = http.request({
    host: "127.0.0.1",
    port: target.port,
    method: req.method,
    path: req.url,
    headers: { ...headers, "content-length": String(body.length) },
  });
  let responded = false;
  upstream.on("response", (answer) => {
    responded = true;
    const out: http.OutgoingHttpHeaders = { ...answer.headers, "x-taskwire-node": target.name };
    for (const name of HOP_BY_HOP) delete out[name];
    res.writeHead(answer.statusCode ?? 502, out);
    res.flushHeaders();
    answer.pipe(res);
    // The node died mid-response: cut the client too, so it reconnects instead of waiting forever.
    answer.on("aborted", () => res.destroy());
    answer.on("error", () => res.destroy());
  });
  upstream.on("error", (error: NodeJS.ErrnoException) => {
    if (responded || res.headersSent) res.destroy();
    // Refused: the node is down and never saw the request, so the next node may take it.
    else if (error.code === "ECONNREFUSED") forward(req, res, body, targets);
    else {
      res.writeHead(502, { "content-type": "application/json" });
      res.end('{"error":{"code":"BAD_GATEWAY","message":"The node failed before answering."}}');
    }
  });
  res.on("close", () => upstream.destroy());
  upstream.end(body);
}
