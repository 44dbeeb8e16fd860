import { BadRequestError } from "../http-errors/errors";

// Visible ASCII only: no spaces, control characters or non-ASCII, which proxies and logs mangle.
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The one rule for idempotency keys over HTTP, whether from the `Idempotency-Key` header (task router)
 * or from `executeTask`'s `settings.idempotencyKey`: absent, or 1-255 visible ASCII characters
 * (`"input"` included, which derives the key from the input). Anything else — an empty, oversized or
 * non-ASCII key — is a `BadRequestError` (400) naming the Idempotency-Key, never a real key.
 */
export function validateIdempotencyKey(key: unknown): asserts key is string | undefined {
  if (key === undefined) return;
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key))
    throw new BadRequestError("The Idempotency-Key must be 1-255 visible ASCII characters.", {
      field: "Idempotency-Key",
    });
}
