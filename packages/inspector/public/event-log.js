import { api } from "./api.js";
import { h, prettyJson } from "./dom.js";

/** Frames the bridge itself sends besides the task's own events. */
const BRIDGE_EVENTS = ["child", "completed", "failed", "cancelled", "interrupted"];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * The live event log of one task over the app's own SSE stream (a plain EventSource, which resumes with
 * Last-Event-ID by itself). Each frame is a row with its seq, name and pretty-printed payload; a
 * seq already shown is skipped, so reopening after a retry (`?lastEventId=`) never duplicates a row.
 */
export class EventLog {
  #taskId;
  #names;
  #list;
  #state;
  #source;
  #seen = new Set();
  #lastSeq = 0;
  #onFrame;
  #opened = 0;
  #afterTerminal = false;

  constructor(taskId, eventNames, onFrame) {
    this.#taskId = taskId;
    this.#names = [...new Set([...eventNames, ...BRIDGE_EVENTS])];
    this.#onFrame = onFrame;
    this.#state = h("span", { class: "stream-state", "data-testid": "stream-state" }, "connecting");
    this.#list = h("ol", { class: "event-log", "data-testid": "event-log" });
    this.element = h(
      "section",
      { class: "card", "aria-labelledby": "events-title" },
      h("div", { class: "card-head" }, h("h3", { id: "events-title" }, "Events"), this.#state),
      this.#list,
      h("p", { class: "hint empty-log" }, "No events yet."),
    );
  }

  /** Whether the stream is closed (ended by the server after the terminal event, or closed here). */
  get closed() {
    return !this.#source || this.#source.readyState === EventSource.CLOSED;
  }

  /** Opens (or reopens) the stream after the last seq shown. */
  open() {
    if (!this.closed) return;
    const source = new EventSource(api.eventsUrl(this.#taskId, this.#lastSeq));
    this.#source = source;
    this.#setState("connecting", "connecting");
    source.addEventListener("ready", (event) => {
      this.#setState("live", "live");
      const data = parse(event.data);
      this.#opened += 1;
      const cursor = Number(event.lastEventId) || 0;
      if (this.#opened > 1 || cursor > 0) this.#system(`stream resumed after #${cursor}`);
      this.#onFrame?.({ name: "ready", data });
    });
    for (const name of this.#names) source.addEventListener(name, (event) => this.#frame(name, event));
    source.addEventListener("error", () => {
      // After a terminal frame the server ends the response on purpose; the browser's reconnect then gets
      // a 204 (closed for good) or, for a task retried meanwhile, a new `ready`.
      if (source.readyState === EventSource.CLOSED || this.#afterTerminal) this.#setState("ended", "ended");
      else this.#setState("reconnecting", "reconnecting…");
    });
  }

  /** The highest seq shown. */
  get lastSeq() {
    return this.#lastSeq;
  }

  /** Closes the stream once the task's final event is shown (saves the browser's reconnect to a 204). */
  finish() {
    this.close();
    this.#setState("ended", "ended");
  }

  /** Stops listening. */
  close() {
    this.#source?.close();
    this.#source = undefined;
  }

  #frame(name, event) {
    const seq = Number(event.lastEventId);
    const data = parse(event.data);
    if (name === "interrupted") {
      this.#system(`stream interrupted (${data?.code ?? "unknown"}); reconnecting`);
      return;
    }
    if (!Number.isSafeInteger(seq) || this.#seen.has(seq)) return;
    this.#seen.add(seq);
    this.#afterTerminal = TERMINAL.has(name);
    this.#lastSeq = Math.max(this.#lastSeq, seq);
    const follow = this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight < 24;
    const row = h(
      "li",
      {
        class: `event ev-${TERMINAL.has(name) ? name : name === "child" ? "child" : "task"}`,
        "data-testid": "event-row",
        "data-seq": seq,
        "data-name": name,
      },
      h("span", { class: "ev-seq mono" }, `#${seq}`),
      h("span", { class: "ev-name" }, name),
      payload(data),
    );
    this.#list.append(row);
    this.element.classList.add("has-events");
    if (follow) this.#list.scrollTop = this.#list.scrollHeight;
    this.#onFrame?.({ name, seq, data });
  }

  #system(text) {
    this.#list.append(h("li", { class: "event ev-system" }, h("span", { class: "ev-note" }, text)));
  }

  #setState(state, text) {
    this.#state.dataset.state = state;
    this.#state.textContent = text;
  }
}

/** The payload, pretty-printed; a long one folds behind its first line. */
function payload(data) {
  const text = prettyJson(data);
  const lines = text.split("\n");
  if (lines.length <= 8) return h("pre", { class: "ev-data mono" }, text);
  const compact = JSON.stringify(data);
  return h(
    "details",
    { class: "ev-data ev-fold" },
    h("summary", { class: "mono" }, compact.length > 96 ? `${compact.slice(0, 95)}…` : compact),
    h("pre", { class: "mono" }, text),
  );
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
