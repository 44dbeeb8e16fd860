import http from "node:http";
import express from "express";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, makeHarness } from "./helpers";

/** Path segments whose percent-encoding `decodeURIComponent` rejects (bad hex, truncated, invalid UTF-8). */
const MALFORMED = ["%zz", "%", "abc%", "%FF", "%C0%AF", "%ED%A0%80"];

/** Every task route with a path parameter (SPEC 5), as [method, path with the parameter replaced]. */
const ROUTES: Array<[string, (segment: string) => string]> = [
  ["POST", (s) => `/api/tasks/${s}`],
  ["GET", (s) => `/api/tasks/${s}`],
  ["GET", (s) => `/api/tasks/${s}/events`],
  ["POST", (s) => `/api/tasks/${s}/cancel`],
  ["POST", (s) => `/api/tasks/${s}/signals/approve`],
  ["POST", (s) => `/api/tasks/t-1/signals/${s}`],
  ["POST", (s) => `/api/tasks/${s}/retry`],
];

/** Sends the path byte for byte with node:http (no client-side normalisation) and reads the JSON answer. */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; type: string; body: unknown }>((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers["content-type"] ?? "",
          body: JSON.parse(text),
        }),
      );
    });
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

describe("malformed percent-encoding in a path parameter", () => {
  it("answers 400 BAD_REQUEST JSON on every task route, with or without identity, logged at debug only", async () => {
    // Records what reaches the server, to prove no client normalised the encoding away.
    const seen: string[] = [];
    const app = express();
    app.use((req, _res, next) => {
      seen.push(req.url);
      next();
    });
    const h = await makeHarness(onTestFinished, { app });
    const base = await h.listen();

    let sent = 0;
    for (const segment of MALFORMED)
      for (const [method, path] of ROUTES)
        for (const identity of [{}, alice]) {
          const headers = { "Content-Type": "application/json", Accept: "text/event-stream", ...identity };
          const res = await rawRequest(base, method, path(segment), headers);
          sent += 1;
          expect(seen.at(-1), `${method} ${path(segment)}`).toBe(path(segment));
          expect(res.status, `${method} ${path(segment)}`).toBe(400);
          expect(res.type).toMatch(/^application\/json/);
          expect(res.body).toEqual({
            error: {
              code: "BAD_REQUEST",
              message: "The request path is not valid percent-encoding.",
              details: { reason: "uri.malformed" },
            },
          });
        }

    expect(sent).toBe(MALFORMED.length * ROUTES.length * 2);
    // Nothing about these requests above debug (the taskflow's own info lines may exist), no warn or error.
    expect(
      h.log.records.filter((r) => (r.level as number) > 20 && String(r.event).startsWith("http.")),
    ).toEqual([]);
    expect(h.log.records.filter((r) => (r.level as number) >= 40)).toEqual([]);
    const rejected = h.log.find("http.request_rejected", { code: "BAD_REQUEST" });
    expect(rejected).toHaveLength(sent);
    for (const record of rejected) expect(record.level).toBe(20);
    expect(await h.store.listTasks()).toEqual([]);
  });
});
