import { ErrorCode, TaskwireError } from "@taskwire/core";

/** The request carries no identity the app's `resolveUser` accepts (HTTP 401). */
export class UnauthenticatedError extends TaskwireError {
  override readonly retriable = false;
  constructor(message = "Authentication is required.") {
    super(ErrorCode.UNAUTHENTICATED, message);
    this.name = "UnauthenticatedError";
  }
}

/** The caller is known but not allowed to do this (HTTP 403); task access stays 404, never 403. */
export class ForbiddenError extends TaskwireError {
  override readonly retriable = false;
  constructor(message = "This request is not allowed.") {
    super(ErrorCode.FORBIDDEN, message);
    this.name = "ForbiddenError";
  }
}

/** The request body is not valid JSON (HTTP 400). */
export class InvalidJsonError extends TaskwireError {
  override readonly retriable = false;
  constructor(cause?: unknown) {
    super(ErrorCode.INVALID_JSON, "The request body is not valid JSON.", { cause });
    this.name = "InvalidJsonError";
  }
}

/** The request body exceeds the configured limit (HTTP 413). */
export class PayloadTooLargeError extends TaskwireError {
  override readonly retriable = false;
  constructor(limitBytes?: number, cause?: unknown) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large.", {
      cause,
      details: limitBytes === undefined ? undefined : { limitBytes },
    });
    this.name = "PayloadTooLargeError";
  }
}

/** No route matches (HTTP 404). */
export class RouteNotFoundError extends TaskwireError {
  override readonly retriable = false;
  constructor(method: string, path: string) {
    super(ErrorCode.NOT_FOUND, `No route for ${method} ${path}.`);
    this.name = "RouteNotFoundError";
  }
}

/** Another malformed request: a bad header or an unsupported encoding (HTTP 400). */
export class BadRequestError extends TaskwireError {
  override readonly retriable = false;
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.BAD_REQUEST, message, { details });
    this.name = "BadRequestError";
  }
}
