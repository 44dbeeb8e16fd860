import type * as OtelApi from "@opentelemetry/api";
import type { Context, Span, Tracer } from "@opentelemetry/api";

type Api = typeof OtelApi;

/** A W3C trace context stored with a task (inside its identity sidecar): where its run spans hang. */
export interface TraceCarrier {
  /** `00-<trace id>-<span id>-<flags>` (W3C Trace Context). */
  traceparent: string;
  /** Vendor state that travels with it. */
  tracestate?: string;
}

/** A tracer provider `createTaskflow({ tracing: { tracerProvider } })` takes instead of the global one. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** `createTaskflow({ tracing })`: `true` uses the global OpenTelemetry tracer provider. */
export interface TracingOptions {
  /** @default the global provider of `@opentelemetry/api` */
  tracerProvider?: TracerProviderLike;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const MAX_TRACESTATE = 512;

/** Loads `@opentelemetry/api` (an optional peer) once tracing is asked for. */
export async function loadTracing(options: true | TracingOptions): Promise<Tracing> {
  let api: Api;
  try {
    api = await import("@opentelemetry/api");
  } catch (cause) {
    throw new TypeError(
      "createTaskflow({ tracing }) needs the optional peer dependency @opentelemetry/api; install it.",
      { cause },
    );
  }
  const provider = options === true ? undefined : options.tracerProvider;
  const tracer = (provider ?? api.trace.getTracerProvider()).getTracer("@taskwire/core") as Tracer;
  return new Tracing(api, tracer);
}

/** Task fields a run span carries (never inputs, results or tokens). */
interface TracedTask {
  id: string;
  name: string;
  attempt: number;
}

/**
 * The engine's OpenTelemetry seam: captures the caller's trace context at a start, and opens the
 * `taskwire.task.run` span of each run (its parent: the stored context, on whichever node resumes the task)
 * and a `taskwire.step` child per executed step.
 */
export class Tracing {
  readonly #api: Api;
  readonly #tracer: Tracer;

  constructor(api: Api, tracer: Tracer) {
    this.#api = api;
    this.#tracer = tracer;
  }

  /**
   * The context to store with a new task: the active span's (an HTTP server span of the app's
   * instrumentation), else the caller's `explicit` carrier (the request's `traceparent` header) if valid.
   */
  capture(explicit: TraceCarrier | undefined): TraceCarrier | undefined {
    const span = this.#api.trace.getSpan(this.#api.context.active());
    const sc = span?.spanContext();
    if (sc && this.#api.isSpanContextValid(sc)) {
      const traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
      const tracestate = sc.traceState?.serialize();
      return tracestate ? { traceparent, tracestate } : { traceparent };
    }
    return explicit && this.#parse(explicit) ? sanitize(explicit) : undefined;
  }

  /** Opens the run span of a claimed task under its stored context (a root span without one). */
  startRun(task: TracedTask, carrier: TraceCarrier | undefined): RunTrace {
    const api = this.#api;
    const parent = (carrier && this.#parse(carrier)) ?? api.ROOT_CONTEXT;
    const attributes = {
      "taskwire.task.name": task.name,
      "taskwire.task.id": task.id,
      "taskwire.task.attempt": task.attempt,
    };
    const span = this.#tracer.startSpan(
      "taskwire.task.run",
      { kind: api.SpanKind.INTERNAL, attributes },
      parent,
    );
    return new RunTrace(api, this.#tracer, span, api.trace.setSpan(parent, span), attributes);
  }

  #parse(carrier: TraceCarrier): Context | undefined {
    const match = typeof carrier.traceparent === "string" ? TRACEPARENT.exec(carrier.traceparent) : null;
    if (!match) return undefined;
    const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
    const spanContext = {
      traceId,
      spanId,
      traceFlags: Number.parseInt(flags, 16),
      isRemote: true,
      ...(typeof carrier.tracestate === "string" && carrier.tracestate.length <= MAX_TRACESTATE
        ? { traceState: this.#api.createTraceState(carrier.tracestate) }
        : {}),
    };
    if (!this.#api.isSpanContextValid(spanContext)) return undefined;
    return this.#api.trace.setSpanContext(this.#api.ROOT_CONTEXT, spanContext);
  }
}

/** One run's span: step spans are its children; ended once with how the run settled. */
export class RunTrace {
  readonly #api: Api;
  readonly #tracer: Tracer;
  readonly #span: Span;
  readonly #context: Context;
  readonly #attributes: Record<string, string | number>;

  constructor(
    api: Api,
    tracer: Tracer,
    span: Span,
    context: Context,
    attributes: Record<string, string | number>,
  ) {
    this.#api = api;
    this.#tracer = tracer;
    this.#span = span;
    this.#context = context;
    this.#attributes = attributes;
  }

  /** Runs `fn` with the run span active (spans the task body makes become its children). */
  within<T>(fn: () => T): T {
    return this.#api.context.with(this.#context, fn);
  }

  /** Runs a step under its own `taskwire.step` span, a child of the run span. */
  async step<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const span = this.#tracer.startSpan(
      "taskwire.step",
      { attributes: { ...this.#attributes, "taskwire.step.key": key } },
      this.#context,
    );
    try {
      const value = await this.#api.context.with(this.#api.trace.setSpan(this.#context, span), fn);
      span.end();
      return value;
    } catch (error) {
      failSpan(this.#api, span, error);
      span.end();
      throw error;
    }
  }

  /** Ends the run span: `status` is the settlement (or `lease_lost`, `crashed`). */
  end(status: string, error?: unknown): void {
    this.#span.setAttribute("taskwire.task.status", status);
    if (status === "failed" || status === "crashed") failSpan(this.#api, this.#span, error);
    this.#span.end();
  }
}

/** Marks a span failed with the error's code only: messages may quote payloads. */
function failSpan(api: Api, span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") span.setAttribute("taskwire.error.code", code);
  span.setStatus({ code: api.SpanStatusCode.ERROR });
}

function sanitize(carrier: TraceCarrier): TraceCarrier {
  return typeof carrier.tracestate === "string" && carrier.tracestate.length <= MAX_TRACESTATE
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** The trace context inside a stored identity sidecar, if any (malformed JSON has none). */
export function storedTraceCarrier(identity: string | null): TraceCarrier | undefined {
  if (identity === null || !identity.includes('"trace"')) return undefined;
  try {
    const trace = (JSON.parse(identity) as { trace?: unknown }).trace;
    if (trace === null || typeof trace !== "object") return undefined;
    const { traceparent, tracestate } = trace as Record<string, unknown>;
    if (typeof traceparent !== "string") return undefined;
    return typeof tracestate === "string" ? { traceparent, tracestate } : { traceparent };
  } catch {
    return undefined;
  }
}
