import { isTerminalEventName } from "@taskwire/core";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Prng } from "../crash/prng";
import type { Cluster } from "./cluster";
import { pick, sleep } from "./http";

/** A WAL event as one client received it. */
export interface ReceivedFrame {
  seq: number;
  name: string;
  data: unknown;
  /** Which connection (1-based) of this client delivered it, and from which node. */
  connection: number;
  node: string;
}

/** Streams in a row ended by the server without a frame before a client gives up (the nodes die less often). */
const MAX_EMPTY_ENDS = 30;

/** Everything one client saw, for the verifier and the summary. */
export interface ClientReport {
  taskId: string;
  owner: string;
  /** WAL frames in arrival order, across all of the client's connections. */
  frames: ReceivedFrame[];
  /** Connections that answered 200 (the first included). */
  connections: number;
  /** Connections after the first one (each resumed with `Last-Event-ID`). */
  reconnects: number;
  /** Connections the client dropped on purpose (the others ended by a node dying, `interrupted`, …). */
  drops: number;
  /** `interrupted` frames received (graceful stops). */
  interrupted: number;
  /** Whether a terminal frame arrived. */
  done: boolean;
  /** A resume at the terminal seq was checked to answer 204 (`true`), not checked (`undefined`). */
  checked204?: boolean;
  /** Protocol breaches seen live (the `ready` id, a status an owner must never get, …). */
  problems: string[];
}

/** Options of {@link runSseClient}. */
export interface SseClientOptions {
  cluster: Cluster;
  rng: Prng;
  taskId: string;
  owner: string;
  /** Chance that a connection is dropped by the client at a random moment. */
  dropChance: number;
  /** How long a connection to be dropped lives, in ms. */
  dropAfterMs: readonly [number, number];
  /** Chance that, after the terminal frame, a resume at it is checked to answer 204. */
  check204Chance: number;
  /** Called for each WAL frame as it arrives (a parent's `child` frames name its children). */
  onFrame?: (frame: ReceivedFrame) => void;
}

/**
 * Follows a task's SSE stream (`GET /api/tasks/:id/events`, as its owner) until its terminal frame,
 * through random nodes: it drops connections at random and loses them when a node dies, and each time
 * reconnects to a random live node with `Last-Event-ID` set to the last id it received, as a browser's
 * `EventSource` does. Parsed with eventsource-parser, one parser per connection (a frame torn by a drop
 * is never delivered). Resolves with what it saw once done or at `deadline`.
 */
export async function runSseClient(options: SseClientOptions, deadline: number): Promise<ClientReport> {
  const { cluster, rng, taskId, owner } = options;
  const report: ClientReport = {
    taskId,
    owner,
    frames: [],
    connections: 0,
    reconnects: 0,
    drops: 0,
    interrupted: 0,
    done: false,
    problems: [],
  };
  let lastEventId: string | undefined;
  // Streams in a row that the server ended without a WAL frame (a livelock if it never stops).
  let emptyEnds = 0;
  const path = `/api/tasks/${encodeURIComponent(taskId)}/events`;

  while (!report.done && Date.now() < deadline) {
    const slot = pick(rng, cluster.live());
    if (!slot?.url) {
      await sleep(30);
      continue;
    }
    const node = slot.name;
    const controller = new AbortController();
    const headers: Record<string, string> = { accept: "text/event-stream", "x-forwarded-user": owner };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    const resumedAt = lastEventId === undefined ? 0 : Number(lastEventId);
    let response: Response;
    try {
      response = await fetch(`${slot.url}${path}`, { headers, signal: controller.signal });
    } catch {
      await sleep(rng.int(20, 80)); // refused or reset: the node is going away
      continue;
    }
    if (response.status === 503) {
      await response.body?.cancel();
      await sleep(rng.int(20, 80));
      continue;
    }
    if (response.status === 204) {
      report.problems.push(
        `${node} answered 204 to a resume after ${resumedAt}, but no terminal frame had arrived`,
      );
      report.done = true;
      break;
    }
    if (response.status !== 200) {
      report.problems.push(`${node} answered ${response.status} to the owner: ${await response.text()}`);
      report.done = true;
      break;
    }
    report.connections += 1;
    if (report.connections > 1) report.reconnects += 1;
    const connection = report.connections;
    const framesBefore = report.frames.length;
    let dropped = false;
    const deadlineTimer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    const dropTimer =
      rng.next() < options.dropChance
        ? setTimeout(
            () => {
              dropped = true;
              controller.abort();
            },
            rng.int(options.dropAfterMs[0], options.dropAfterMs[1]),
          )
        : undefined;
    const onEvent = (message: EventSourceMessage) => {
      if (message.id !== undefined) lastEventId = message.id;
      const name = message.event ?? "message";
      if (name === "ready") {
        if (Number(message.id) !== resumedAt)
          report.problems.push(`${node}: ready id ${message.id} on a resume after ${resumedAt}`);
        return;
      }
      if (name === "interrupted") {
        report.interrupted += 1;
        return;
      }
      let data: unknown = message.data;
      try {
        data = JSON.parse(message.data);
      } catch {
        report.problems.push(`${node}: frame ${message.id} ${name} has non-JSON data`);
      }
      const frame = { seq: Number(message.id), name, data, connection, node };
      report.frames.push(frame);
      if (isTerminalEventName(name)) report.done = true;
      options.onFrame?.(frame);
    };
    const parser = createParser({ onEvent });
    const decoder = new TextDecoder();
    try {
      const reader = response.body?.getReader();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
    } catch {
      // dropped by us, or the node died mid-stream: reconnect below
    } finally {
      clearTimeout(dropTimer);
      clearTimeout(deadlineTimer);
    }
    if (dropped && !report.done) report.drops += 1;
    if (report.done || dropped) continue;
    emptyEnds = report.frames.length > framesBefore ? 0 : emptyEnds + 1;
    if (emptyEnds >= MAX_EMPTY_ENDS) {
      report.problems.push(
        `${emptyEnds} streams in a row ended without a frame or a terminal event (resuming after ${lastEventId})`,
      );
      break;
    }
    await sleep(rng.int(10, 100)); // the server's `retry:` is 100 ms
  }

  if (report.done && lastEventId !== undefined && rng.next() < options.check204Chance) {
    report.checked204 = await checkResumeAtEnd(options, path, lastEventId, deadline, report);
  }
  return report;
}

/** A resume at the terminal frame must answer 204 (a browser's EventSource then stops for good). */
async function checkResumeAtEnd(
  options: SseClientOptions,
  path: string,
  lastEventId: string,
  deadline: number,
  report: ClientReport,
): Promise<boolean | undefined> {
  while (Date.now() < deadline) {
    const slot = pick(options.rng, options.cluster.live());
    if (!slot?.url) {
      await sleep(30);
      continue;
    }
    try {
      const response = await fetch(`${slot.url}${path}`, {
        headers: {
          accept: "text/event-stream",
          "x-forwarded-user": options.owner,
          "last-event-id": lastEventId,
        },
        signal: AbortSignal.timeout(5000),
      });
      await response.body?.cancel();
      if (response.status === 503) continue;
      if (response.status !== 204)
        report.problems.push(`${slot.name} answered ${response.status}, not 204, to a resume at the end`);
      return response.status === 204;
    } catch {
      await sleep(options.rng.int(20, 80));
    }
  }
  return undefined;
}
