import { TaskStatus } from "@taskwire/core";
import fc from "fast-check";
import { alice } from "./helpers";

/**
 * Request parts for the HTTP fuzz tests, each with what the server must make of it (the contract of
 * SPEC 5 and 6 written out independently of the implementation), so a property can tell a request that
 * must be refused from one that may succeed.
 */

/** Header values node:http will send: tab, visible ASCII, space and Latin-1 (node trims spaces at the ends). */
const headerChar = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constantFrom(0x09, 0xa0, 0xe9, 0xff) },
  )
  .map((c) => String.fromCharCode(c));
/** Header values of up to `maxLength` characters. */
export const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });
/** What the server sees of a header value: Node drops the optional whitespace at both ends. */
export const trimOws = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, "");

// The contract of the identity headers and of Idempotency-Key (SPEC 6, SPEC 5).
const USER_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Identity headers and the user the server must resolve from them. */
export interface Identity {
  headers: Record<string, string>;
  /** Who the server must see, or undefined for a 401. */
  user: string | undefined;
}
/** Alice, Bob, no identity, arbitrary (mostly malformed) user headers, or the service principal. */
export const identity: fc.Arbitrary<Identity> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ headers: alice, user: "alice" }) },
  { weight: 2, arbitrary: fc.constant({ headers: { "x-forwarded-user": "bob" }, user: "bob" }) },
  fc.constant({ headers: {}, user: undefined }),
  fc.tuple(headerText(300), fc.option(headerText(40), { nil: undefined })).map(([id, token]) => {
    const headers: Record<string, string> = { "x-forwarded-user": id };
    if (token !== undefined) headers["x-forwarded-access-token"] = token;
    const seen = trimOws(id);
    return { headers, user: USER_ID.test(seen) && seen !== "service" ? seen : undefined };
  }),
  fc.constant({ headers: { "x-forwarded-user": "service" }, user: undefined }),
);

/** An `Idempotency-Key` header: absent, well-formed or arbitrary. */
export const idempotencyKey = fc.option(fc.oneof(headerText(300), fc.stringMatching(/^[\x21-\x7e]{1,20}$/)), {
  nil: undefined,
});
/** Whether the server must accept this `Idempotency-Key`. */
export const keyIsValid = (key: string | undefined) =>
  key === undefined || IDEMPOTENCY_KEY.test(trimOws(key));

/** Headers no route may fail on with a 5xx, whatever their value. */
export const noise = fc.record(
  {
    accept: fc.oneof(
      fc.constantFrom(
        "text/event-stream",
        "application/json",
        "*/*",
        "text/html",
        "text/event-stream;q=0",
        "",
      ),
      headerText(60),
    ),
    "last-event-id": fc.oneof(headerText(30), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)),
  },
  { requiredKeys: [] },
);

/** A request body and what the server must make of it (`express.json({ strict: false })`). */
export interface RequestBody {
  headers: Record<string, string>;
  bytes: Buffer | undefined;
  /** `broken`: 400/413 before any route; otherwise the parsed `req.body` (undefined when not parsed). */
  broken: boolean;
  value: unknown;
}
const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"];
const parsesAsJson = (bytes: Uint8Array) => {
  const text = new TextDecoder().decode(bytes).replace(/^\ufeff/, "");
  try {
    return { ok: true as const, value: text === "" ? {} : JSON.parse(text) };
  } catch {
    return { ok: false as const };
  }
};
/** Request bodies: none, JSON, malformed JSON, refused charsets and encodings, oversized, not JSON. */
export const body: fc.Arbitrary<RequestBody> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ headers: {}, bytes: undefined, broken: false, value: undefined }) },
  // Well-formed JSON (so only the route's own validation can refuse it).
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...JSON_TYPES),
        fc.oneof(fc.json(), fc.constant(""), fc.constant('{"approved":true}')),
      )
      .map(([type, text]) => ({
        headers: { "content-type": type },
        bytes: Buffer.from(text),
        broken: false,
        value: text === "" ? {} : JSON.parse(text),
      })),
  },
  // Malformed JSON: random bytes and truncated documents.
  fc
    .tuple(
      fc.constantFrom(...JSON_TYPES),
      fc.oneof(
        fc.uint8Array({ maxLength: 2000 }),
        fc.json().map((t) => new TextEncoder().encode(t.slice(0, -1))),
      ),
    )
    .filter(([, bytes]) => !parsesAsJson(bytes).ok)
    .map(([type, bytes]) => ({
      headers: { "content-type": type },
      bytes: Buffer.from(bytes),
      broken: true,
      value: undefined,
    })),
  // JSON the parser must refuse anyway: a charset it does not read, a content encoding that is a lie.
  fc
    .tuple(fc.constantFrom("latin1", "us-ascii", "windows-1252", "utf-99"), fc.json())
    .map(([charset, text]) => ({
      headers: { "content-type": `application/json; charset=${charset}` },
      bytes: Buffer.from(text),
      broken: true,
      value: undefined,
    })),
  fc
    .tuple(fc.constantFrom("gzip", "deflate", "br", "compress", "x-unknown"), fc.json())
    .map(([encoding, text]) => ({
      headers: { "content-type": "application/json", "content-encoding": encoding },
      bytes: Buffer.from(text),
      broken: true,
      value: undefined,
    })),
  // Larger than the 100 kB limit: 413.
  fc.integer({ min: 101 * 1024, max: 160 * 1024 }).map((size) => ({
    headers: { "content-type": "application/json" },
    bytes: Buffer.from(JSON.stringify("x".repeat(size))),
    broken: true,
    value: undefined,
  })),
  // Not JSON at all: never parsed, `req.body` stays undefined.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.option(
          fc.constantFrom(
            "text/plain",
            "application/octet-stream",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "text/json",
            "application/ld+json",
          ),
          { nil: undefined },
        ),
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 2000 }),
          fc.json({ maxDepth: 2 }).map((t) => new TextEncoder().encode(t)),
        ),
      )
      .map(([type, bytes]) => ({
        headers: (type === undefined ? {} : { "content-type": type }) as Record<string, string>,
        bytes: Buffer.from(bytes),
        broken: false,
        value: undefined,
      })),
  },
);

/** A path segment: the decoded value the route sees (undefined for malformed %-encoding) and the raw text. */
export interface Segment {
  raw: string;
  decoded: string | undefined;
}
/** A raw path segment with the value Express decodes from it. */
export const segmentOf = (raw: string): Segment => {
  try {
    return { raw, decoded: decodeURIComponent(raw) };
  } catch {
    return { raw, decoded: undefined };
  }
};
/** Raw path characters node sends as they are (no `/`, `?`, `#`), plus %-sequences, well-formed or not. */
const rawSegment = fc
  .array(
    fc.oneof(
      fc
        .integer({ min: 0x21, max: 0x7e })
        .filter((c) => !"/?#".includes(String.fromCharCode(c)))
        .map((c) => String.fromCharCode(c)),
      fc.constantFrom(
        "%",
        "%2",
        "%zz",
        "%FF",
        "%C0%AF",
        "%ED%A0%80",
        "%00",
        "%2F",
        "%2E",
        "%25",
        "%E2%82%AC",
        "é",
        "\u00ff",
      ),
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((parts) => parts.join(""));
/** Path segments of every kind, never empty and never decoding to one of the `near` (real) values. */
export const segment = (near: readonly string[]) =>
  fc
    .oneof(
      rawSegment,
      fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom(".", "..", "...", "%2E%2E", "%20", "%C3%A9"),
      fc.integer({ min: 256, max: 4000 }).map((n) => "a".repeat(n)),
      // Near misses of real values: one character more, case, encoded suffixes.
      fc
        .tuple(fc.constantFrom(...near), fc.constantFrom("x", "%20", "%00", " ", "/", "%2F", "%0A"))
        .map(
          ([v, tail]) =>
            encodeURIComponent(v) + (tail === " " || tail === "/" ? encodeURIComponent(tail) : tail),
        ),
      fc.constantFrom(...near).map((v) => encodeURIComponent(v.toUpperCase())),
    )
    .map(segmentOf)
    .filter((s) => s.decoded !== "" && !near.includes(s.decoded as string));

/** `GET /tasks` query strings: each parameter absent, valid, malformed or repeated; `valid` by SPEC 5. */
export function listQuery() {
  const STATUSES = Object.values(TaskStatus) as string[];
  const MAX_DATE_MS = 8.64e15;
  const cursorValid = (cursor: string) => {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return false;
    try {
      const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      return (
        Array.isArray(v) &&
        v.length === 2 &&
        Number.isSafeInteger(v[0]) &&
        Math.abs(v[0]) <= MAX_DATE_MS &&
        typeof v[1] === "string" &&
        v[1] !== ""
      );
    } catch {
      return false;
    }
  };
  const param = <T extends string>(values: fc.Arbitrary<string>) =>
    fc.option(fc.array(values, { minLength: 1, maxLength: 2 }), { nil: undefined }) as fc.Arbitrary<
      T[] | undefined
    >;
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return fc
    .record({
      status: param(
        fc.oneof(
          fc
            .array(fc.oneof(fc.constantFrom(...STATUSES), fc.string({ maxLength: 8 })), { maxLength: 3 })
            .map((s) => s.join(",")),
          fc.string(),
        ),
      ),
      limit: param(
        fc.oneof(
          fc.integer({ min: -5, max: 300 }).map(String),
          fc.constantFrom("", "1e2", "0x10", " 5", "5.0", "007", "99999999999999999999"),
          fc.string({ maxLength: 5 }),
        ),
      ),
      cursor: param(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.jsonValue({ maxDepth: 2 }).map(b64),
          fc
            .tuple(fc.oneof(fc.maxSafeInteger(), fc.double(), fc.constant(9e15)), fc.string({ maxLength: 8 }))
            .map(b64),
        ),
      ),
      task: param(fc.string({ maxLength: 12 })),
      parentId: param(fc.string({ maxLength: 12 })),
    })
    .map((q) => {
      const params = new URLSearchParams();
      for (const [k, values] of Object.entries(q)) for (const v of values ?? []) params.append(k, v);
      const one = (values: string[] | undefined, ok: (v: string) => boolean) =>
        values === undefined || (values.length === 1 && ok(values[0]!));
      const valid =
        one(q.status, (v) => v.split(",").every((s) => STATUSES.includes(s))) &&
        one(q.limit, (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 200) &&
        one(q.cursor, cursorValid) &&
        one(q.task, (v) => v !== "") &&
        one(q.parentId, (v) => v !== "");
      const text = params.size === 0 ? "" : `?${params}`;
      return { text, valid };
    });
}
