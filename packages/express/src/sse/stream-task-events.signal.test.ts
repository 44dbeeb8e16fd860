import { getEventListeners, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { runInUserContext } from "@taskwire/core";
import { openSSE } from "@taskwire/testing";
import { describe, expect, it, onTestFinished } from "vitest";
import { blockingTask, makeHarness, newKey, release } from "../../test/helpers";
import { streamTaskEvents } from "./stream-task-events";

describe("streamTaskEvents with a signal", () => {
  it("ends with interrupted server_shutting_down when the signal aborts, and removes its listener", async () => {
    const h = await makeHarness(onTestFinished);
    const controller = new AbortController();
    const key = newKey();
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(blockingTask, { key }),
    );
    const server = http.createServer((req, res) => {
      void runInUserContext({ userId: "alice" }, () =>
        streamTaskEvents(req, res, h.taskflow, taskId, { signal: controller.signal, logger: h.log.logger }),
      );
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    onTestFinished(() => {
      server.closeAllConnections();
      server.close();
    });
    const sse = await openSSE(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect((await sse.next()).event).toBe("ready");
    expect((await sse.next()).event).toBe("tick");
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    expect(await sse.next()).toMatchObject({
      id: "1",
      event: "interrupted",
      data: { code: "server_shutting_down" },
    });
    await sse.ended;
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    release(key);
  });
});
