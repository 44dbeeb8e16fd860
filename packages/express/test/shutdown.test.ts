import http from "node:http";
import { runInUserContext, type Taskflow } from "@taskwire/core";
import { installGracefulShutdown, Plugin } from "@taskwire/express";
import { openSSE } from "@taskwire/testing";
import request from "supertest";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, blockingTask, makeHarness, newKey } from "./helpers";

class OrderPlugin extends Plugin {
  readonly name = "order";
  constructor(
    readonly order: string[],
    readonly interruptedSoFar: () => number,
  ) {
    super();
  }
  override shutdown() {
    this.order.push(`plugin.shutdown after ${this.interruptedSoFar()} interrupted stream(s)`);
  }
}

async function runningStream(base: string, taskflow: Taskflow) {
  const key = newKey();
  const { taskId } = await runInUserContext({ userId: "alice" }, () => taskflow.start(blockingTask, { key }));
  const sse = await openSSE(`${base}/api/tasks/${taskId}/events`, { headers: alice });
  expect((await sse.next()).event).toBe("ready");
  expect(await sse.next()).toMatchObject({ id: "1", event: "tick" });
  return { sse, taskId, key };
}

describe("tw.close()", () => {
  it("interrupts open streams with server_shutting_down, then shuts plugins and the taskflow down", async () => {
    const order: string[] = [];
    let interrupted = () => 0;
    const h = await makeHarness(onTestFinished, {
      plugins: [new OrderPlugin(order, () => interrupted())],
    });
    interrupted = () => h.log.find("sse.stream_interrupted", { code: "server_shutting_down" }).length;
    const base = await h.listen();
    const shutdown = h.taskflow.shutdown.bind(h.taskflow);
    vi.spyOn(h.taskflow, "shutdown").mockImplementation(() => {
      order.push("taskflow.shutdown");
      return shutdown();
    });
    const { sse, taskId } = await runningStream(base, h.taskflow);

    const closing = h.tw.close();
    expect(await sse.next()).toMatchObject({
      id: "1", // the last delivered seq
      event: "interrupted",
      data: { code: "server_shutting_down", message: expect.any(String) },
    });
    await sse.ended;
    await closing;
    expect(h.tw.close()).toBe(closing); // idempotent
    expect(order).toEqual(["plugin.shutdown after 1 interrupted stream(s)", "taskflow.shutdown"]);
    expect(sse.violations).toEqual([]);
    expect(h.log.find("sse.stream_interrupted", { code: "server_shutting_down" })).toHaveLength(1);

    // The running task was handed back for another node, not cancelled.
    await h.store.open();
    expect((await h.store.getTask(taskId))?.status).toBe("queued");
  });

  it("answers 503 SHUTTING_DOWN with Retry-After to new requests after close", async () => {
    const h = await makeHarness(onTestFinished);
    await h.tw.close();
    for (const res of [
      await request(h.tw.app).get("/api/tasks/any/events").set(alice),
      await request(h.tw.app).post("/api/tasks/test.quick").set(alice).send({}),
      await request(h.tw.app).get("/api/tasks/any").set(alice), // would reach the closed store
      await request(h.tw.app).get("/api/unknown"),
    ]) {
      expect(res.status).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
      expect(res.body).toEqual({ error: { code: "SHUTTING_DOWN", message: "Taskwire is shutting down." } });
    }
  });

  it("refuses new streams on a closed bridge", async () => {
    const h = await makeHarness(onTestFinished);
    await h.tw.bridge.close();
    const server = http.createServer((req, res) => {
      h.tw.bridge.stream(req, res, "t-1").catch((error: unknown) => {
        res.statusCode = (error as { code?: string }).code === "SHUTTING_DOWN" ? 503 : 500;
        res.end();
      });
    });
    onTestFinished(() => {
      server.close();
    });
    const res = await request(server).get("/");
    expect(res.status).toBe(503);
  });
});

describe("installGracefulShutdown", () => {
  it("on a signal: stops accepting, closes the app (streams interrupted), closes idle sockets, exits 0", async () => {
    const h = await makeHarness(onTestFinished);
    const base = await h.listen();
    const server = h.server as http.Server;
    const { sse } = await runningStream(base, h.taskflow);
    // An idle keep-alive connection that would otherwise hold server.close() open.
    const agent = new http.Agent({ keepAlive: true });
    onTestFinished(() => agent.destroy());
    const idle = await new Promise<number>((resolve, reject) => {
      http
        .get(`${base}/api/nothing`, { agent, headers: alice }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        })
        .on("error", reject);
    });
    expect(idle).toBe(404);

    const exit = vi.fn();
    const before = process.listenerCount("SIGUSR2");
    installGracefulShutdown(server, h.tw, { signals: ["SIGUSR2"], exit });
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    process.emit("SIGUSR2", "SIGUSR2");

    expect(await sse.next()).toMatchObject({ event: "interrupted", data: { code: "server_shutting_down" } });
    await vi.waitFor(() => expect(exit.mock.calls.length, "exit").toBeGreaterThan(0), {
      timeout: 5000,
      interval: 5,
    });
    expect(exit).toHaveBeenCalledWith(0);
    expect(server.listening).toBe(false);
    expect(process.listenerCount("SIGUSR2")).toBe(before);
    expect(h.log.find("server.shutdown_completed", { code: 0 })).toHaveLength(1);
  });

  it("exits 1 when closing takes longer than timeoutMs", async () => {
    const h = await makeHarness(onTestFinished);
    await h.listen();
    const exit = vi.fn();
    const never = { close: () => new Promise<void>(() => {}), bridge: h.tw.bridge };
    const handle = installGracefulShutdown(h.server as http.Server, never, {
      signals: [],
      exit,
      timeoutMs: 50,
    });
    await expect(handle.shutdown()).resolves.toBe(1);
    expect(exit).toHaveBeenCalledWith(1);
  });
});
