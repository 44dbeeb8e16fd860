import type { Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { BadRequestError } from "../http-errors/errors";
import { toHttpError } from "../http-errors/to-http-error";

/** Options of {@link handleClientError}. */
export interface ClientErrorOptions {
  /** Where rejected requests are logged (at debug level: they are the client's fault). @default none */
  logger?: Logger;
}

/** Node's own statuses for what its HTTP parser rejects; anything else is a 400. */
const REJECTIONS: Readonly<Record<string, { status: number; reason: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: "Request Header Fields Too Large",
    message: "The request headers are too large.",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: "Request Timeout",
    message: "The request did not arrive in time.",
  },
};
const MALFORMED = { status: 400, reason: "Bad Request", message: "The request is not valid HTTP." };

/** Servers already handled: a second call must not write a second answer on the same socket. */
const handled = new WeakSet<Server>();

/**
 * Answers requests that Node's HTTP parser rejects (a bare CR in a header, both `Content-Length` and
 * `Transfer-Encoding`, oversized headers) with Taskwire's JSON error shape instead of Node's bodiless
 * 400, then closes the connection. Install it on the server you own, next to `installGracefulShutdown`.
 * @example handleClientError(tw.app.listen(3000), { logger });
 */
export function handleClientError(server: Server, options: ClientErrorOptions = {}): Server {
  if (handled.has(server)) return server;
  handled.add(server);
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = typeof error.code === "string" ? error.code : "unknown";
    options.logger?.debug({ event: "http.client_error", code }, "malformed request rejected");
    // A reset peer reads nothing; a response already under way would be corrupted by a second head.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const rejection = REJECTIONS[code] ?? MALFORMED;
    const body = JSON.stringify(
      toHttpError(new BadRequestError(rejection.message, { reason: code }), true).body,
    );
    const head = [
      `HTTP/1.1 ${rejection.status} ${rejection.reason}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Cache-Control: no-store",
      "Connection: close",
    ];
    // end() flushes the answer before the FIN; destroy() then frees the socket even if the peer lingers.
    socket.end(`${head.join("\r\n")}\r\n\r\n${body}`, () => socket.destroy());
  });
  return server;
}
