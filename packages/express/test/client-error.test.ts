import { once } from "node:events";
import type { Server } from "node:http";
import net from "node:net";
import { handleClientError } from "@taskwire/express";
import request from "supertest";
import { describe, expect, it, onTestFinished } from "vitest";
import { alice, type Harness, makeHarness } from "./helpers";

/** Reads a client socket until the server closes it (resolving at all proves the server closed it). */
function readUntilClose(socket: net.Socket) {
  return new Promise<string>((resolve, reject) => {
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
  });
}

/** Writes raw bytes on a fresh TCP connection and parses what comes back before the server closes it. */
async function rawExchange(server: Server, bytes: string) {
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
  return parseResponse(await readUntilClose(socket));
}

/** Splits a raw HTTP/1.1 response into status, lower-cased headers and the JSON body. */
function parseResponse(text: string) {
  const at = text.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = text.slice(0, at).split("\r\n");
  const headers = Object.fromEntries(
    lines.map((line) => [
      line.slice(0, line.indexOf(":")).toLowerCase(),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  const body = text.slice(at + 4);
  if (Buffer.byteLength(body, "latin1") !== Number(headers["content-length"]))
    throw new Error(`Content-Length ${headers["content-length"]} does not match the body: ${body}`);
  return { status: Number(statusLine.split(" ")[1]), headers, body: JSON.parse(body) as unknown };
}

async function served(): Promise<Harness & { server: Server }> {
  const h = await makeHarness(onTestFinished);
  await h.listen();
  const server = h.server as Server;
  expect(handleClientError(server, { logger: h.log.logger })).toBe(server);
  return Object.assign(h, { server });
}

describe("handleClientError", () => {
  it("answers what Node's HTTP parser rejects with the JSON error shape, then closes the socket", async () => {
    const h = await served();
    const cases = [
      [
        "a bare CR in a header",
        "GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n",
        "HPE_LF_EXPECTED",
      ],
      [
        "Content-Length with Transfer-Encoding",
        "POST /api/tasks/test.quick HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HPE_INVALID_TRANSFER_ENCODING",
      ],
      ["not HTTP at all", "HELLO\r\n\r\n", undefined],
    ] as const;
    for (const [what, bytes, reason] of cases) {
      const res = await rawExchange(h.server, bytes);
      expect(res.status, what).toBe(400);
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(res.headers.connection).toBe("close");
      expect(res.body).toEqual({
        error: {
          code: "BAD_REQUEST",
          message: "The request is not valid HTTP.",
          details: { reason: reason ?? expect.stringMatching(/^HPE_/) },
        },
      });
    }
    expect(h.log.find("http.client_error")).toHaveLength(cases.length);
    expect(h.log.records.filter((r) => (r.level as number) >= 40)).toEqual([]);
    expect(await h.store.listTasks()).toEqual([]);
    // Well-formed requests are untouched.
    expect((await request(h.server).get("/api/tasks/none").set(alice)).status).toBe(404);
  });

  it("answers a request that timed out with 408 in the same shape", async () => {
    const h = await served();
    // Node raises this after `server.requestTimeout` (5 min by default): emitted here on a real socket.
    const accepted = once(h.server, "connection") as Promise<[net.Socket]>;
    const { port } = h.server.address() as net.AddressInfo;
    const client = net.connect(port, "127.0.0.1");
    const [socket] = await accepted;
    const answer = readUntilClose(client);
    const timeout = Object.assign(new Error("Request timeout"), { code: "ERR_HTTP_REQUEST_TIMEOUT" });
    h.server.emit("clientError", timeout, socket);
    const res = parseResponse(await answer);
    expect(res.status).toBe(408);
    expect(res.body).toEqual({
      error: {
        code: "BAD_REQUEST",
        message: "The request did not arrive in time.",
        details: { reason: "ERR_HTTP_REQUEST_TIMEOUT" },
      },
    });
  });

  it("answers oversized headers with 431 in the same shape", async () => {
    const h = await served();
    const res = await rawExchange(
      h.server,
      `GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(20_000)}\r\n\r\n`,
    );
    expect(res.status).toBe(431);
    expect(res.body).toEqual({
      error: {
        code: "BAD_REQUEST",
        message: "The request headers are too large.",
        details: { reason: "HPE_HEADER_OVERFLOW" },
      },
    });
  });
});
