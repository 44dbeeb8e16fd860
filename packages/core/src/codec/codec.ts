/**
 * The JSON encoding for every value that crosses the WAL (inputs, step results, events, results).
 * Plain JSON plus faithful `BigInt` and `Date`: tagged as `{"$tw":"bigint","v":"…"}` and
 * `{"$tw":"date","v":"…"}`; a user key spelled `$tw`, `$tw$`, … gains one more `$` on the way in and
 * loses it on the way out, so decoding is never ambiguous. `undefined` object members are dropped, as JSON does.
 */
const TAG = "$tw";

/**
 * Encodes a value to a string for the WAL.
 * @example decode(encode({ n: 10n, at: new Date(0) })) // { n: 10n, at: Date(0) }
 */
export function encode(value: unknown): string {
  // Strings, finite numbers, booleans and null encode as plain JSON: the replacer would leave them as-is.
  const type = typeof value;
  if (
    type === "string" ||
    type === "boolean" ||
    value === null ||
    (type === "number" && Number.isFinite(value))
  )
    return JSON.stringify(value);
  if (type === "object" && isFlatPlainObject(value as object)) return JSON.stringify(value);
  const text = JSON.stringify(value === undefined ? null : value, replacer);
  return text;
}

/**
 * A plain object whose members are all strings, numbers, booleans, null or undefined, with no key that
 * could need escaping: the replacer would change nothing (the common shape of inputs and results).
 */
function isFlatPlainObject(value: object): boolean {
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (key.startsWith(TAG)) return false;
    const member = (value as Record<string, unknown>)[key];
    const type = typeof member;
    if (
      member !== null &&
      type !== "string" &&
      type !== "number" &&
      type !== "boolean" &&
      type !== "undefined"
    )
      return false;
  }
  return true;
}

/** Decodes a string produced by {@link encode}. */
export function decode<T = unknown>(text: string): T {
  // Every tag and every escaped key contains "$tw"; without it the reviver would change nothing.
  if (!text.includes(TAG)) return JSON.parse(text) as T;
  return JSON.parse(text, reviver) as T;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the original value: Date#toJSON has already run on `value`.
  const original = this[key];
  if (original instanceof Date)
    return { [TAG]: "date", v: Number.isNaN(original.getTime()) ? null : original.toISOString() };
  if (typeof value === "bigint") return { [TAG]: "bigint", v: value.toString() };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.some(isEscapable))
      // fromEntries defines own properties: `out[k] = v` with k === "__proto__" would set the prototype
      // and silently drop that member (fuzz counterexample: { ["__proto__"]: 1, $tw: 2 }).
      return Object.fromEntries(
        keys.map((k) => [isEscapable(k) ? `${k}$` : k, (value as Record<string, unknown>)[k]]),
      );
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const tagged = value as Record<string, unknown>;
  if (Object.hasOwn(tagged, TAG)) {
    if (tagged[TAG] === "bigint") return BigInt(tagged.v as string);
    if (tagged[TAG] === "date")
      return tagged.v === null ? new Date(Number.NaN) : new Date(tagged.v as string);
    return value;
  }
  const keys = Object.keys(tagged);
  if (!keys.some((k) => k.length > TAG.length && isEscapable(k))) return value;
  // Own properties, as JSON.parse makes them: an assignment to "__proto__" would set the prototype.
  return Object.fromEntries(
    keys.map((k) => [k.length > TAG.length && isEscapable(k) ? k.slice(0, -1) : k, tagged[k]]),
  );
}

/** `$tw`, `$tw$`, `$tw$$`, …: keys that would collide with (or mimic) the tag. */
function isEscapable(key: string): boolean {
  return key.startsWith(TAG) && /^\$tw\$*$/.test(key);
}

/**
 * Deterministic encoding (object keys sorted) used to hash inputs for idempotency keys.
 */
export function canonicalEncode(value: unknown): string {
  return encode(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  // Own properties via fromEntries: `out["__proto__"] = v` would set the prototype, so an input
  // `{ "__proto__": … }` would hash like `{}` (fuzz counterexample: { ["__proto__"]: null }).
  const entries: Array<[string, unknown]> = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) entries.push([key, sortKeys(v)]);
  }
  return Object.fromEntries(entries);
}
