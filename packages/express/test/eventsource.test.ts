import { runInUserContext, type Taskflow } from "@taskwire/core";
import { EventSource } from "eventsource";
import express from "express";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { alice, blockingTask, makeHarness, newKey, quickTask, release } from "./helpers";

interface Received {
  type: string;
  lastEventId: string;
  data: unknown;
}

/** A real `eventsource` client (what a browser does) that records every named event and each request's Last-Event-ID. */
async function setup() {
  const requests: Array<{ lastEventId: string | undefined; query: unknown }> = [];
  const app = express();
  app.use((req, _res, next) => {
    if (req.path.endsWith("/events"))
      requests.push({ lastEventId: req.get("Last-Event-ID"), query: req.query.lastEventId });
    next();
  });
  const h = await makeHarness(onTestFinished, { app, sse: { retryMs: 30 } });
  const base = await h.listen();
  const open = (path: string) => {
    const received: Received[] = [];
    const es = new EventSource(`${base}${path}`, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...alice } }),
    });
    onTestFinished(() => es.close());
    for (const type of ["ready", "tick", "completed", "failed", "cancelled", "interrupted", "message"]) {
      es.addEventListener(type, (event) => {
        received.push({ type, lastEventId: event.lastEventId, data: JSON.parse(event.data) });
      });
    }
    return { es, received };
  };
  return { h, requests, open };
}

async function finished(taskflow: Taskflow, taskId: string) {
  for await (const _ of taskflow.subscribe(taskId)) {
    // drain to the terminal event
  }
}

describe("with the eventsource client", () => {
  it("reconnects after a dropped connection with Last-Event-ID, misses nothing, and stops for good on 204", async () => {
    const { h, requests, open } = await setup();
    const key = newKey();
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(blockingTask, { key }),
    );
    const { es, received } = open(`/api/tasks/${taskId}/events`);
    await vi.waitFor(() => expect(received.map((r) => r.type)).toContain("tick"), {
      timeout: 5000,
      interval: 5,
    });

    h.server?.closeAllConnections(); // the network drops
    const readies = () => received.filter((r) => r.type === "ready");
    await vi.waitFor(() => expect(readies(), "second ready").toHaveLength(2), { timeout: 5000, interval: 5 });
    release(key);
    await vi.waitFor(() => expect(es.readyState, "EventSource closed by the 204").toBe(es.CLOSED), {
      timeout: 5000,
      interval: 5,
    });

    expect(received.map((r) => [r.type, r.lastEventId])).toEqual([
      ["ready", "0"],
      ["tick", "1"],
      ["ready", "1"],
      ["tick", "2"],
      ["completed", "3"],
    ]);
    expect(received[4]?.data).toEqual({ result: { ok: true, user: "alice" } });
    // First connect, the reconnect after the drop, the reconnect after the end (answered 204).
    expect(requests.map((r) => r.lastEventId)).toEqual([undefined, "1", "3"]);
  });

  it("resumes from ?lastEventId= and lets the reconnect's header win, so a finished stream is not replayed again", async () => {
    const { h, requests, open } = await setup();
    const { taskId } = await runInUserContext({ userId: "alice" }, () =>
      h.taskflow.start(quickTask, { n: 3 }),
    );
    await finished(h.taskflow, taskId);
    const { es, received } = open(`/api/tasks/${taskId}/events?lastEventId=1`);
    await vi.waitFor(() => expect(es.readyState, "EventSource closed by the 204").toBe(es.CLOSED), {
      timeout: 5000,
      interval: 5,
    });
    expect(received.map((r) => [r.type, r.lastEventId])).toEqual([
      ["ready", "1"],
      ["tick", "2"],
      ["tick", "3"],
      ["completed", "4"],
    ]);
    expect(received[1]?.data).toMatchObject({ i: 2, big: (2n ** 60n + 2n).toString() });
    expect(requests).toEqual([
      { lastEventId: undefined, query: "1" },
      { lastEventId: "4", query: "1" },
    ]);
  });
});
