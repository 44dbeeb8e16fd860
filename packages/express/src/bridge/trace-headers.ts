import type { IncomingMessage } from "node:http";
import type { TraceCarrier } from "@taskwire/core";

/**
 * The request's W3C trace context headers (`traceparent`, `tracestate`), passed to `start` so a task's
 * spans join the caller's trace when the app runs no HTTP instrumentation of its own (core validates the
 * format and ignores it unless tracing is on).
 */
export function traceCarrierOf(req: IncomingMessage): TraceCarrier | undefined {
  const traceparent = req.headers.traceparent;
  if (typeof traceparent !== "string" || traceparent.length > 64) return undefined;
  const tracestate = req.headers.tracestate;
  return typeof tracestate === "string" ? { traceparent, tracestate } : { traceparent };
}
