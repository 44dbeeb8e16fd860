// Helpers shared by the report and the batch parts of the page (plain ES modules, no build step).
import { createParser } from "/vendor/eventsource-parser.js";

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** Frames after which a task's stream ends. */
export const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/** Shows `text` in a message box (`#message` unless another is given); an empty text hides it. */
export function showMessage(text, ok = false, box = $("message")) {
  box.textContent = text;
  box.classList.toggle("ok", ok);
  box.hidden = !text;
}

/** The JSON error of a failed request as one readable text, with one line per invalid field. */
export async function describeError(response) {
  if (response.status === 429) return tooManyStarts(response);
  try {
    const body = await response.json();
    const issues = body.error?.details?.issues ?? [];
    const lines = issues.map((i) => `• ${i.path || "(input)"}: ${i.message}`);
    return [body.error?.message ?? `HTTP ${response.status}`, ...lines].join("\n");
  } catch {
    return `HTTP ${response.status}`;
  }
}

/** A 429's message: which limit, and when to try again (`Retry-After`, seconds). */
async function tooManyStarts(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  const when = Number.isFinite(seconds) && seconds > 0 ? `in ${seconds} s` : "in a moment";
  const limit = await response
    .json()
    .then((body) => body.error?.details?.limit)
    .catch(() => undefined);
  if (limit === "maxQueued") return `The server is busy — try again ${when}.`;
  if (limit === "maxActivePerOwner") return `Too many tasks running — try again ${when}.`;
  return `Too many starts at once — try again ${when}.`;
}

/**
 * POSTs `body` as JSON; returns the response, or undefined (after saying so in `box`) when the server is
 * unreachable or the request was aborted through `signal`.
 */
export async function postJson(url, body, { box = $("message"), accept = "application/json", signal } = {}) {
  try {
    return await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: accept },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch {
    if (!signal?.aborted) showMessage("Could not reach the server.", false, box);
    return undefined;
  }
}

/** Reads an SSE response body (a POST that streams) until it ends or drops, calling onFrame(name, id, data). */
export async function readEventStream(response, onFrame) {
  const parser = createParser({
    onEvent: (e) => void onFrame(e.event ?? "message", e.id, JSON.parse(e.data)),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  } catch {
    // The connection dropped (server restart, network): the caller re-attaches with EventSource.
  }
}

/**
 * Watches a task's stream with EventSource, which reconnects by itself and sends Last-Event-ID.
 * `names` are the event names to listen to; returns the EventSource.
 */
export function watchTask(taskId, afterSeq, names, onFrame) {
  const url = `/api/tasks/${encodeURIComponent(taskId)}/events?lastEventId=${afterSeq}`;
  const source = new EventSource(url);
  for (const name of ["ready", ...names, ...TERMINAL, "interrupted"]) {
    source.addEventListener(name, (e) => void onFrame(name, e.lastEventId, JSON.parse(e.data)));
  }
  return source;
}

/** The lowercase hex SHA-256 of a text, as the server computes digests. */
export async function sha256Hex(text) {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
