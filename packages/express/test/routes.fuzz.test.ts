import http from "node:http";
import { defineTask } from "@taskwire/core";
import { handleClientError } from "@taskwire/express";
import { sqliteStore } from "@taskwire/sqlite";
import { SSECollector } from "@taskwire/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { alice, approvalTask, failingTask, type Harness, makeHarness, quickTask } from "./helpers";
import {
  body,
  headerText,
  type Identity,
  idempotencyKey,
  identity,
  keyIsValid,
  listQuery,
  noise,
  type RequestBody,
  type Segment,
  segment,
  segmentOf,
  trimOws,
} from "./request-arbitraries";

/** Only `{ "token": "open-sesame" }` starts it: random bodies are never valid input. */
const strictTask = defineTask({
  name: "fuzz.strict",
  input: z.strictObject({ token: z.literal("open-sesame") }),
  result: z.object({}),
  async run() {
    return {};
  },
});
const REGISTERED = new Set(["fuzz.strict", "test.quick", "test.approval", "test.failing"]);
const approvePayload = z.object({ approved: z.boolean(), note: z.string().default("") });

let h: Harness;
let base: string;
/** Alice's tasks, one per state the routes treat differently. */
const ids = { completed: "", failed: "", waiting: "" };
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  h = await makeHarness((fn) => cleanups.push(fn), { store: sqliteStore({ path: ":memory:" }) });
  // makeHarness registers the helper tasks; the strict one is this file's own.
  h.taskflow.task(strictTask);
  base = await h.listen();
  // As a deployment does: what Node's HTTP parser refuses (raw non-ASCII in a path) gets JSON too.
  handleClientError(h.server!);
  const start = async (name: string, body: unknown) => {
    const res = await send({
      method: "POST",
      path: `/api/tasks/${name}`,
      headers: { ...alice, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify(body)),
    });
    expect(res.status, res.text).toBe(202);
    return (JSON.parse(res.text) as { taskId: string }).taskId;
  };
  ids.completed = await start(quickTask.name, { n: 2 });
  ids.failed = await start(failingTask.name, {});
  ids.waiting = await start(approvalTask.name, {});
  const want = { [ids.completed]: "completed", [ids.failed]: "failed", [ids.waiting]: "waiting" };
  await vi.waitFor(
    async () => {
      const rows = await h.store.listTasks();
      expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual(want);
    },
    { timeout: 10_000, interval: 10 },
  );
}, 20_000);

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | undefined;
}

/** Sends the request byte for byte with node:http (no client-side path normalisation). */
function send(req: Sent) {
  return new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
    const headers = { ...req.headers };
    if (req.body) headers["content-length"] = String(req.body.length);
    // `path` as an option, not a URL: a URL would be normalised (dot segments, percent-encoding) first.
    const { hostname, port } = new URL(base);
    const out = http.request({ hostname, port, path: req.path, method: req.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"] ?? "",
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    out.on("error", reject);
    out.end(req.body);
  });
}

/** Everything that can change when a request writes: rows, revisions, WAL heads, cancel flags, signals. */
async function storeState() {
  const rows = await h.store.listTasks();
  const signals = await Promise.all(realIds().map((id) => h.store.readSignal(id, "approve", 0)));
  return {
    rows: rows.map((r) => [r.id, r.status, r.revision, r.lastSeq, r.updatedAt, r.cancelRequestedAt]),
    signals,
  };
}

/** A task id segment: garbage, or one of Alice's real tasks (encoded either way). */
const taskId = (real: () => string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: segment(["task", "tasks", "events"]) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 }).map((i) => segmentOf(real()[i]!)) },
  );
const realIds = () => [ids.completed, ids.failed, ids.waiting];

// ---------------------------------------------------------------- the property

interface Case {
  request: Sent;
  /** Whether the request is valid end to end (it may then answer 2xx and write); generators avoid it. */
  valid: boolean;
}

function build(
  method: string,
  path: string,
  who: Identity,
  b: RequestBody,
  extra: Record<string, string | undefined>,
): Sent {
  const headers: Record<string, string> = { ...who.headers, ...b.headers };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) headers[name] = value;
  return { method, path, headers, body: b.bytes };
}

/** Whether the caller reaches the task behind `id`: it is Alice's and Alice asks. */
const owns = (who: Identity, id: Segment) => who.user === "alice" && realIds().includes(id.decoded ?? "");

const routes: Record<string, fc.Arbitrary<Case>> = {
  "POST /tasks/:name": fc
    .tuple(
      fc.oneof(segment([...REGISTERED]), fc.constant(segmentOf("fuzz.strict"))),
      identity,
      body,
      idempotencyKey,
      noise,
    )
    .map(([name, who, b, key, extra]) => ({
      request: build("POST", `/api/tasks/${name.raw}`, who, b, { ...extra, "idempotency-key": key }),
      valid:
        name.decoded === "fuzz.strict" &&
        who.user !== undefined &&
        !b.broken &&
        strictTask.input.safeParse(b.value).success &&
        keyIsValid(key),
    })),
  "GET /tasks/:taskId": fc.tuple(taskId(realIds), identity, body, noise).map(([id, who, b, extra]) => ({
    request: build("GET", `/api/tasks/${id.raw}`, who, b, extra),
    valid: owns(who, id) && !b.broken,
  })),
  "GET /tasks/:taskId/events": fc
    .tuple(taskId(realIds), identity, body, noise)
    .map(([id, who, b, extra]) => ({
      request: build("GET", `/api/tasks/${id.raw}/events`, who, b, extra),
      valid: owns(who, id) && !b.broken,
    })),
  "POST /tasks/:taskId/cancel": fc
    .tuple(taskId(realIds), identity, body, noise)
    .map(([id, who, b, extra]) => ({
      request: build("POST", `/api/tasks/${id.raw}/cancel`, who, b, extra),
      valid: owns(who, id) && !b.broken,
    })),
  "POST /tasks/:taskId/signals/:name": fc
    .tuple(
      taskId(realIds),
      fc.oneof(segment(["approve"]), fc.constant(segmentOf("approve"))),
      identity,
      body,
      idempotencyKey,
      noise,
    )
    .map(([id, name, who, b, key, extra]) => ({
      request: build("POST", `/api/tasks/${id.raw}/signals/${name.raw}`, who, b, {
        ...extra,
        "idempotency-key": key,
      }),
      valid:
        owns(who, id) &&
        id.decoded === ids.waiting &&
        name.decoded === "approve" &&
        !b.broken &&
        approvePayload.safeParse(b.value).success &&
        keyIsValid(key),
    })),
  // Alice's completed and waiting tasks answer 409 NOT_RESUMABLE: only her failed one may be retried.
  "POST /tasks/:taskId/retry": fc
    .tuple(taskId(realIds), identity, body, noise)
    .map(([id, who, b, extra]) => ({
      request: build("POST", `/api/tasks/${id.raw}/retry`, who, b, extra),
      valid: owns(who, id) && id.decoded === ids.failed && !b.broken,
    })),
  "GET /tasks": fc.tuple(listQuery(), identity, body, noise).map(([q, who, b, extra]) => ({
    request: build("GET", `/api/tasks${q.text}`, who, b, extra),
    valid: q.valid && who.user !== undefined && !b.broken,
  })),
  "other methods": fc
    .tuple(
      fc.constantFrom("PUT", "PATCH", "DELETE"),
      fc.constantFrom("", "/x", "/x/events", "/x/cancel", "/x/retry", "/x/signals/approve"),
      identity,
      body,
    )
    .map(([method, tail, who, b]) => ({
      request: build(method, `/api/tasks${tail}`, who, b, {}),
      valid: false,
    })),
};

/** Counterexamples fast-check found (fixed in the source), always replayed first. */
const FOUND: Record<string, Case[]> = {
  // A cursor whose createdAt is a safe integer past the Date range (list-route.ts decodeCursor).
  "GET /tasks": [
    [9e15, " "],
    [-9e15, "x"],
    [Number.MAX_SAFE_INTEGER, "x"],
  ].map((position) => ({
    request: {
      method: "GET",
      path: `/api/tasks?cursor=${Buffer.from(JSON.stringify(position)).toString("base64url")}`,
      headers: alice,
    },
    valid: false,
  })),
};

const STACK = /\bat .*\(.*:\d+:\d+\)|\n\s+at |node:internal|node_modules|\.ts:\d+/;

describe("HTTP routes under arbitrary input (fuzz)", () => {
  for (const [route, arbitrary] of Object.entries(routes)) {
    it(`${route} answers 4xx JSON, never 5xx or a stack, and writes nothing`, async () => {
      const before = await storeState();
      await fc.assert(
        fc.asyncProperty(
          arbitrary.filter((c) => !c.valid),
          async ({ request: req }) => {
            const res = await send(req);
            const label = `${req.method} ${req.path.slice(0, 200)} ${JSON.stringify(req.headers).slice(0, 400)} → ${res.status} ${res.text.slice(0, 300)}`;
            expect(res.status, label).toBeGreaterThanOrEqual(400);
            expect(res.status, label).toBeLessThan(500);
            expect(res.type, label).toMatch(/^application\/json/);
            const parsed = JSON.parse(res.text) as { error: Record<string, unknown> };
            expect(Object.keys(parsed), label).toEqual(["error"]);
            expect(parsed.error, label).toMatchObject({
              code: expect.any(String),
              message: expect.any(String),
            });
            expect(
              Object.keys(parsed.error).every((k) => ["code", "message", "details"].includes(k)),
              label,
            ).toBe(true);
            expect(res.text, label).not.toMatch(STACK);
            expect(await storeState(), label).toEqual(before);
          },
        ),
        { numRuns: 200, examples: (FOUND[route] ?? []).map((c) => [c]) },
      );
      expect(h.log.find("http.request_failed")).toEqual([]);
    });
  }
});

describe("resuming a stream by arbitrary Last-Event-ID (fuzz)", () => {
  it("answers 204 at or past the end, else replays exactly the events after the cursor", async () => {
    const { lastSeq } = (await h.store.getTask(ids.completed))!;
    const value = fc.oneof(
      fc.integer({ min: 0, max: lastSeq + 2 }).map(String),
      fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String),
      fc.constantFrom("", "-1", "01", "1.0", "1e0", "0x1", "+1", "١", "１"),
      headerText(20),
    );
    await fc.assert(
      fc.asyncProperty(value, fc.boolean(), async (id, query) => {
        // A header cannot carry what Latin-1 cannot: such values go through `?lastEventId=`.
        const viaQuery = query || !/^[\t\x20-\x7e\x80-\xff]*$/.test(id);
        const path = `/api/tasks/${ids.completed}/events${viaQuery ? `?lastEventId=${encodeURIComponent(id)}` : ""}`;
        const res = await send({
          method: "GET",
          path,
          headers: viaQuery ? alice : { ...alice, "last-event-id": id },
        });
        // The header loses its surrounding spaces on the wire (HTTP field values exclude them).
        const seen = viaQuery ? id : trimOws(id);
        const cursor = /^(0|[1-9][0-9]*)$/.test(seen) ? Math.min(Number(seen), Number.MAX_SAFE_INTEGER) : 0;
        if (cursor >= lastSeq) {
          expect(res.status).toBe(204);
          return;
        }
        expect(res.status).toBe(200);
        const collector = new SSECollector();
        collector.feed(res.text);
        const { frames, violations } = collector.end();
        expect(violations).toEqual([]);
        expect(frames.map((f) => f.id)).toEqual(
          [cursor, ...Array.from({ length: lastSeq - cursor }, (_, i) => cursor + 1 + i)].map(String),
        );
        expect(frames[0]?.event).toBe("ready");
        expect(frames.at(-1)?.event).toBe("completed");
      }),
      { numRuns: 150 },
    );
  });
});

describe("the write check itself", () => {
  // Runs last (it writes): proves storeState() sees what a valid start and a valid signal write.
  it("notices a valid start and a valid signal", async () => {
    const before = await storeState();
    const json = { ...alice, "content-type": "application/json" };
    const started = await send({
      method: "POST",
      path: "/api/tasks/fuzz.strict",
      headers: json,
      body: Buffer.from('{"token":"open-sesame"}'),
    });
    expect(started.status, started.text).toBe(202);
    const afterStart = await storeState();
    expect(afterStart.rows).toHaveLength(before.rows.length + 1);
    const signalled = await send({
      method: "POST",
      path: `/api/tasks/${ids.waiting}/signals/approve`,
      headers: json,
      body: Buffer.from('{"approved":true}'),
    });
    expect(signalled.status, signalled.text).toBe(202);
    expect((await storeState()).signals).not.toEqual(afterStart.signals);
  });
});
