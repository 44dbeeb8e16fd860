import { api } from "./api.js";
import { clock, h, isTerminal, prettyJson, relativeAge, statusBadge, taskHref } from "./dom.js";
import { EventLog } from "./event-log.js";
import { signalForm } from "./signal-form.js";
import { renderTimeline } from "./timeline.js";

/**
 * The detail pane of one task: header with status and actions, facts, error, signal form, step
 * timeline, children tree, live events and input/result. While the task is active (and the tab
 * visible) it re-reads the detail every `refreshMs` and after each event; the event log is the app's SSE
 * stream, reopened after a retry.
 */
export class TaskDetail {
  #pane;
  #refreshMs;
  #taskId;
  #detail;
  #log;
  #timer;
  #paused = false;
  #parts;
  #signalKey;
  #dataKey;
  #generation = 0;
  #requested = 0;
  #applied = 0;

  constructor(pane, { refreshMs }) {
    this.#pane = pane;
    this.#refreshMs = refreshMs;
  }

  /** Shows a task (or the placeholder for none). */
  async show(taskId) {
    this.#generation += 1;
    clearTimeout(this.#timer);
    this.#log?.close();
    this.#log = undefined;
    this.#detail = undefined;
    this.#taskId = taskId;
    this.#signalKey = undefined;
    this.#dataKey = undefined;
    if (!taskId) {
      this.#pane.replaceChildren(placeholder());
      return;
    }
    this.#pane.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    await this.#load(this.#generation);
  }

  /** Stops re-reading while the tab is hidden. */
  setPaused(paused) {
    this.#paused = paused;
    clearTimeout(this.#timer);
    if (!paused && this.#taskId) void this.#load(this.#generation);
  }

  async #load(generation) {
    clearTimeout(this.#timer);
    const request = ++this.#requested;
    let detail;
    try {
      detail = await api.detail(this.#taskId);
    } catch (error) {
      if (generation !== this.#generation || request < this.#applied) return;
      if (!this.#detail) this.#pane.replaceChildren(problem(this.#taskId, error));
      else this.#schedule(generation);
      return;
    }
    // Reads may overlap (timer, event, action): an answer older than the one shown is dropped.
    if (generation !== this.#generation || request < this.#applied) return;
    this.#applied = request;
    const first = !this.#detail;
    this.#detail = detail;
    if (first) this.#build(detail);
    this.#update(detail);
    // Everything shown and the task is over: close. Otherwise (re)open after the last event shown: a task
    // retried here or anywhere else streams again (a no-op while the stream is open or reconnecting).
    if (isTerminal(detail.task.status) && this.#log.lastSeq >= detail.task.lastSeq) this.#log.finish();
    else this.#log.open();
    this.#schedule(generation);
  }

  #schedule(generation) {
    clearTimeout(this.#timer);
    if (this.#paused || generation !== this.#generation) return;
    if (this.#detail && isTerminal(this.#detail.task.status)) return;
    this.#timer = setTimeout(() => void this.#load(generation), this.#refreshMs);
  }

  #build(detail) {
    const generation = this.#generation;
    let pending;
    this.#log = new EventLog(detail.task.taskId, detail.events, () => {
      // Every frame may change the status, the timeline or the children: re-read soon, once.
      clearTimeout(pending);
      pending = setTimeout(() => {
        if (generation === this.#generation) void this.#load(generation);
      }, 150);
    });
    const parts = {
      back: h("a", { class: "back", href: "#" }, "← All tasks"),
      title: h("h2", { class: "detail-title", "data-testid": "detail-task" }),
      badge: h("span"),
      id: h("code", { class: "detail-id mono", "data-testid": "detail-id" }),
      actions: h("div", { class: "actions" }),
      facts: h("dl", { class: "facts" }),
      error: h("div", { class: "error-box", role: "alert", "data-testid": "detail-error", hidden: true }),
      message: h("p", { class: "form-message", role: "status", "data-testid": "action-message" }),
      signal: h("section", { class: "card signal-card", hidden: true }),
      timeline: h("div", { "data-testid": "timeline" }),
      children: h("section", { class: "card", hidden: true }),
      data: h("section", { class: "card data-card" }),
    };
    this.#parts = parts;
    this.#pane.replaceChildren(
      h(
        "article",
        { class: "detail", "data-testid": "detail" },
        parts.back,
        h(
          "header",
          { class: "detail-head" },
          h(
            "div",
            { class: "detail-heading" },
            h("div", { class: "title-line" }, parts.title, parts.badge),
            parts.id,
          ),
          parts.actions,
        ),
        parts.message,
        parts.error,
        parts.facts,
        parts.signal,
        h(
          "section",
          { class: "card" },
          h("div", { class: "card-head" }, h("h3", {}, "Step timeline")),
          parts.timeline,
        ),
        parts.children,
        this.#log.element,
        parts.data,
      ),
    );
  }

  #update(detail) {
    const { task } = detail;
    const p = this.#parts;
    p.title.textContent = task.task;
    p.badge.replaceChildren(statusBadge(task.status, "detail-status"));
    p.id.textContent = task.taskId;
    p.actions.replaceChildren(...this.#actions(detail));
    p.facts.replaceChildren(...facts(task, detail.registered));
    p.error.hidden = !task.error;
    if (task.error) {
      p.error.replaceChildren(
        h("strong", { class: "mono" }, task.error.code),
        h("span", {}, task.error.message),
      );
    }
    this.#updateSignal(detail);
    p.timeline.replaceChildren(renderTimeline(detail.steps, task));
    p.children.hidden = detail.children.length === 0;
    if (detail.children.length > 0) {
      p.children.replaceChildren(
        h(
          "div",
          { class: "card-head" },
          h("h3", {}, "Children"),
          h("span", { class: "hint" }, countChildren(detail.children)),
        ),
        childTree(detail.children, detail.childrenTruncated),
      );
    }
    this.#updateData(task);
  }

  #actions(detail) {
    const taskId = detail.task.taskId;
    const cancel = h(
      "button",
      { type: "button", class: "danger-outline", "data-testid": "cancel", disabled: !detail.actions.cancel },
      detail.task.cancelRequestedAt && !isTerminal(detail.task.status) ? "Cancelling…" : "Cancel",
    );
    cancel.addEventListener("click", () =>
      this.#act(
        cancel,
        () => api.cancel(taskId),
        (r) => `Cancel: ${r.outcome.replaceAll("_", " ")}.`,
      ),
    );
    const retry = h(
      "button",
      { type: "button", class: "primary", "data-testid": "retry", disabled: !detail.actions.retry },
      "Retry",
    );
    retry.addEventListener("click", () =>
      this.#act(
        retry,
        () => api.retry(taskId),
        (r) => `Retried: attempt ${r.attempt} is ${r.status}.`,
      ),
    );
    return [cancel, retry];
  }

  async #act(button, run, describe) {
    const generation = this.#generation;
    const message = this.#parts.message;
    button.disabled = true;
    try {
      const result = await run();
      message.className = "form-message ok";
      message.textContent = describe(result);
    } catch (error) {
      message.className = "form-message error";
      message.textContent = error.message;
    }
    if (generation === this.#generation) await this.#load(generation);
  }

  #updateSignal(detail) {
    const p = this.#parts;
    const key = detail.actions.signal ? detail.signals.map((s) => s.name).join(",") : "";
    p.signal.hidden = key === "";
    p.signal.classList.toggle("waiting", detail.task.status === "waiting");
    if (key === this.#signalKey) return; // keep what the user is typing
    this.#signalKey = key;
    if (key === "") return p.signal.replaceChildren();
    const taskId = detail.task.taskId;
    p.signal.replaceChildren(
      h(
        "div",
        { class: "card-head" },
        h("h3", {}, "Send a signal"),
        h("span", { class: "hint" }, "validated by the task's own schema"),
      ),
      signalForm(detail.signals, async (name, payload) => {
        const result = await api.signal(taskId, name, payload);
        void this.#load(this.#generation);
        return result;
      }),
    );
  }

  #updateData(task) {
    const key = JSON.stringify([task.input, task.inputChars, task.result, task.status]);
    if (key === this.#dataKey) return;
    this.#dataKey = key;
    const blocks = [valueBlock("Input", task.input, task.inputChars)];
    if (task.status === "completed") blocks.push(valueBlock("Result", task.result, undefined, "result"));
    this.#parts.data.replaceChildren(...blocks);
  }
}

function placeholder() {
  return h(
    "div",
    { class: "placeholder" },
    h("p", { class: "placeholder-title" }, "Select a task"),
    h("p", {}, "Its step timeline, live events, children and controls show here."),
  );
}

function problem(taskId, error) {
  const notFound = error.status === 404;
  return h(
    "div",
    { class: "placeholder problem", "data-testid": notFound ? "not-found" : "detail-problem" },
    h("a", { class: "back", href: "#" }, "← All tasks"),
    h("p", { class: "placeholder-title" }, notFound ? "Task not found" : "Could not load this task"),
    h(
      "p",
      {},
      notFound
        ? "No task you can see has this id: it does not exist, was deleted, or is not yours."
        : error.message,
    ),
    h("code", { class: "mono detail-id" }, taskId),
  );
}

function facts(task, registered) {
  const now = Date.now();
  const rows = [
    ["Created", when(task.createdAt, now)],
    ["Updated", when(task.updatedAt, now)],
    ["Attempt", h("span", { "data-testid": "attempt" }, String(task.attempt))],
    ["Events", String(task.lastSeq)],
  ];
  if (task.owner !== undefined) rows.push(["Owner", h("span", { class: "mono" }, task.owner)]);
  if (task.parentId)
    rows.push(["Parent", h("a", { class: "mono id-link", href: taskHref(task.parentId) }, task.parentId)]);
  if (task.cancelRequestedAt) rows.push(["Cancel requested", relativeAge(task.cancelRequestedAt, now)]);
  if (!registered) rows.push(["Definition", "not registered in this process"]);
  return rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value)));
}

/** "12s ago · 14:03:07" (milliseconds and the date in the tooltip). */
function when(iso, now) {
  const title = `${new Date(iso).toLocaleDateString()} ${clock(iso)}`;
  return h("span", { title }, `${relativeAge(iso, now)} · ${clock(iso).slice(0, 8)}`);
}

function childTree(nodes, truncated) {
  return h(
    "ul",
    { class: "tree" },
    nodes.map((node) =>
      h(
        "li",
        { "data-testid": "child-node", "data-task-id": node.taskId },
        h(
          "a",
          { class: "tree-row", href: taskHref(node.taskId) },
          statusBadge(node.status, "child-status"),
          h("span", { class: "tree-name" }, node.task),
          h("span", { class: "mono tree-id" }, node.taskId),
        ),
        node.children.length > 0 || node.truncated ? childTree(node.children, node.truncated) : null,
      ),
    ),
    truncated ? h("li", { class: "hint" }, "… more not shown") : null,
  );
}

function countChildren(nodes) {
  const settled = nodes.filter((n) => isTerminal(n.status)).length;
  return `${settled} of ${nodes.length} settled`;
}

function valueBlock(title, value, chars, testid) {
  const body =
    chars !== undefined
      ? h("p", { class: "hint" }, `${chars} characters: too large to show here.`)
      : h("pre", { class: "json mono", "data-testid": testid }, prettyJson(value ?? null));
  return h("details", { open: true }, h("summary", {}, title), body);
}
