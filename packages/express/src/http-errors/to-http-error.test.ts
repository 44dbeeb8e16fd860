import {
  BackpressureError,
  CancelledError,
  DuplicateTaskError,
  IdempotencyConflictError,
  NonDeterminismError,
  ShuttingDownError,
  StoreConflictError,
  TaskNotFoundError,
  TaskwireError,
  UnknownTaskError,
  ValidationError,
} from "@taskwire/core";
import { NotResumableError, TaskFinishedError } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import {
  ForbiddenError,
  InvalidJsonError,
  PayloadTooLargeError,
  RouteNotFoundError,
  UnauthenticatedError,
} from "./errors";
import { toHttpError } from "./to-http-error";

describe("toHttpError", () => {
  it("maps each client-facing code to its status, keeping code and message", () => {
    const cases: Array<[unknown, number, string]> = [
      [new ValidationError("input", [{ path: "rows", message: "Too small" }]), 400, "VALIDATION_ERROR"],
      [new InvalidJsonError(), 400, "INVALID_JSON"],
      [new UnauthenticatedError(), 401, "UNAUTHENTICATED"],
      [new ForbiddenError(), 403, "FORBIDDEN"],
      [new TaskNotFoundError("t1"), 404, "TASK_NOT_FOUND"],
      [new UnknownTaskError("x.y"), 404, "UNKNOWN_TASK"],
      [new RouteNotFoundError("GET", "/api/x"), 404, "NOT_FOUND"],
      [new IdempotencyConflictError("x.y", "t1"), 409, "IDEMPOTENCY_CONFLICT"],
      [new TaskFinishedError("t1", "completed"), 409, "TASK_FINISHED"],
      [new NotResumableError("t1", "running"), 409, "NOT_RESUMABLE"],
      [new PayloadTooLargeError(10), 413, "PAYLOAD_TOO_LARGE"],
      [new BackpressureError("busy", 2500), 429, "BACKPRESSURE"],
      [new ShuttingDownError(), 503, "SHUTTING_DOWN"],
    ];
    for (const [error, status, code] of cases) {
      for (const production of [false, true]) {
        const http = toHttpError(error, production);
        expect(http.status, code).toBe(status);
        expect(http.internal).toBe(false);
        expect(http.body.error.code).toBe(code);
        expect(http.body.error.message).toBe((error as Error).message);
      }
    }
  });

  it("puts zod issues in details and Retry-After (seconds, rounded up) on 429", () => {
    const validation = toHttpError(
      new ValidationError("input", [{ path: "rows", message: "Required" }]),
      true,
    );
    expect(validation.body.error.details).toEqual({ issues: [{ path: "rows", message: "Required" }] });
    const limited = toHttpError(new BackpressureError("busy", 2500), true);
    expect(limited.headers["Retry-After"]).toBe("3");
    expect(limited.body.error.details).toEqual({ retryAfterMs: 2500 });
  });

  it("keeps the current status in the details of 409 TASK_FINISHED and NOT_RESUMABLE", () => {
    expect(toHttpError(new NotResumableError("t1", "running"), true).body.error.details).toEqual({
      taskId: "t1",
      status: "running",
    });
    expect(toHttpError(new TaskFinishedError("t1", "cancelled"), true).body.error.details).toEqual({
      taskId: "t1",
      status: "cancelled",
    });
  });

  it("translates body-parser errors", () => {
    const parse = Object.assign(new SyntaxError("Unexpected token } in JSON"), {
      type: "entity.parse.failed",
      status: 400,
      expose: true,
    });
    expect(toHttpError(parse, true)).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_JSON" } },
    });
    const large = Object.assign(new Error("request entity too large"), {
      type: "entity.too.large",
      status: 413,
      expose: true,
      limit: 100,
    });
    expect(toHttpError(large, true)).toMatchObject({
      status: 413,
      body: { error: { code: "PAYLOAD_TOO_LARGE", details: { limitBytes: 100 } } },
    });
    const charset = Object.assign(new Error('unsupported charset "X"'), {
      type: "charset.unsupported",
      status: 415,
      expose: true,
    });
    expect(toHttpError(charset, true)).toMatchObject({
      status: 400,
      body: { error: { code: "BAD_REQUEST" } },
    });
  });

  it("answers 400 for Express's URIError (malformed percent-encoding), but not for a bare URIError", () => {
    let thrown: unknown;
    try {
      decodeURIComponent("%zz");
    } catch (error) {
      thrown = error;
    }
    // What Express's router does to the decoding error of a path parameter: a status, but no `expose`.
    const routerError = Object.assign(thrown as URIError, { status: 400, statusCode: 400 });
    expect(routerError).toBeInstanceOf(URIError);
    for (const production of [false, true]) {
      const http = toHttpError(routerError, production);
      expect(http).toMatchObject({ status: 400, internal: false });
      expect(http.body).toEqual({
        error: {
          code: "BAD_REQUEST",
          message: "The request path is not valid percent-encoding.",
          details: { reason: "uri.malformed" },
        },
      });
    }
    // Server code that fails to decode its own data is not the client's fault.
    expect(toHttpError(new URIError("URI malformed"), true)).toMatchObject({ status: 500, internal: true });
  });

  it("masks every internal message in production and never includes a stack", () => {
    const internals: unknown[] = [
      new Error("password=hunter2 rejected by db"),
      new StoreConflictError("t1", "lease lost"),
      new NonDeterminismError("t1", 0, "a", "b"),
      new DuplicateTaskError("x.y"),
      new CancelledError("t1"),
      // These end a task (inside its failed event), never a request: no status of their own.
      new TaskwireError("CHILD_FAILED", "Child task t2 failed: boom"),
      new TaskwireError("SIGNAL_TIMEOUT", "Task t1 got no signal"),
      new TaskwireError("INTERNAL", "invariant broken"),
      "a thrown string",
      undefined,
    ];
    for (const error of internals) {
      const http = toHttpError(error, true);
      expect(http.status).toBe(500);
      expect(http.internal).toBe(true);
      expect(http.body).toEqual({ error: { code: "INTERNAL", message: "Internal error" } });
    }
    const dev = toHttpError(new Error("password=hunter2 rejected by db"), false);
    expect(dev.body).toEqual({ error: { code: "INTERNAL", message: "password=hunter2 rejected by db" } });
    expect(JSON.stringify(dev.body)).not.toContain("at ");
    expect(toHttpError(new StoreConflictError("t1", "lease lost"), false).body.error.code).toBe(
      "STORE_CONFLICT",
    );
  });
});
