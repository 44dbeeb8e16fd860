import { api } from "./api.js";
import { h, relativeAge, statusBadge, taskHref } from "./dom.js";

const PAGE = 50;
const MAX = 200;

/**
 * The live task list: polls the first `limit` tasks every `refreshMs` while the tab is visible (a task
 * started anywhere shows up within one interval), keeps row elements by task id so a refresh only moves
 * and updates them, and marks the selected task.
 */
export class TaskList {
  #root;
  #refreshMs;
  #rows = new Map();
  #timer;
  #paused = false;
  #running = false;
  #limit = PAGE;
  #selected;
  #names = new Set();
  #filter = { status: "", task: "" };
  #onUnauthorized;

  constructor(root, { refreshMs, onUnauthorized }) {
    this.#root = root;
    this.#refreshMs = refreshMs;
    this.#onUnauthorized = onUnauthorized;
    const form = root.querySelector("#filters");
    let debounce;
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        this.#filter = { status: form.elements.status.value, task: form.elements.task.value.trim() };
        this.#limit = PAGE;
        void this.refresh();
      }, 200);
    });
    root.querySelector("#list-more").addEventListener("click", () => {
      this.#limit = Math.min(MAX, this.#limit + PAGE);
      void this.refresh();
    });
  }

  /** Marks the task open in the detail pane. */
  select(taskId) {
    this.#selected = taskId;
    for (const [id, row] of this.#rows)
      row.link.setAttribute("aria-current", id === taskId ? "true" : "false");
  }

  /** Stops polling while the tab is hidden; refreshes at once when it is shown again. */
  setPaused(paused) {
    this.#paused = paused;
    clearTimeout(this.#timer);
    if (!paused) void this.refresh();
  }

  /** Fetches the list now, then again every `refreshMs` (one loop, never overlapping). */
  async refresh() {
    clearTimeout(this.#timer);
    if (this.#running) return;
    this.#running = true;
    const error = this.#root.querySelector("#list-error");
    try {
      const query = { limit: String(this.#limit) };
      if (this.#filter.status) query.status = this.#filter.status;
      if (this.#filter.task) query.task = this.#filter.task;
      const page = await api.list(query);
      error.hidden = true;
      this.#render(page.tasks, page.nextCursor !== null);
    } catch (err) {
      error.textContent =
        err.status === 401 || err.status === 403
          ? "Your session has ended: sign in again."
          : `Could not load tasks: ${err.message}`;
      error.hidden = false;
      if (err.status === 401 || err.status === 403) this.#onUnauthorized?.();
    } finally {
      this.#running = false;
      if (!this.#paused) this.#timer = setTimeout(() => void this.refresh(), this.#refreshMs);
    }
  }

  #render(tasks, more) {
    const list = this.#root.querySelector("#task-list");
    const now = Date.now();
    const seen = new Set();
    const items = tasks.map((task) => {
      seen.add(task.taskId);
      let row = this.#rows.get(task.taskId);
      if (!row) {
        row = this.#createRow(task);
        this.#rows.set(task.taskId, row);
      }
      this.#updateRow(row, task, now);
      return row.item;
    });
    for (const id of [...this.#rows.keys()]) if (!seen.has(id)) this.#rows.delete(id);
    list.replaceChildren(...items);
    this.#root.querySelector("#list-empty").hidden = tasks.length > 0;
    this.#root.querySelector("#list-more").hidden = !more || this.#limit >= MAX;
    this.#root.querySelector("[data-testid=task-count]").textContent =
      tasks.length === 0 ? "" : `${tasks.length}${more ? "+" : ""}`;
    this.#updateNames(tasks);
  }

  #createRow(task) {
    const badge = statusBadge(task.status, "row-status");
    const age = h("time", { class: "row-age", datetime: task.createdAt });
    const owner = h("span", { class: "row-owner", hidden: task.owner === undefined });
    const attempt = h("span", { class: "row-attempt", hidden: true });
    const link = h(
      "a",
      {
        class: "task-row",
        href: taskHref(task.taskId),
        "data-testid": "task-row",
        "data-task-id": task.taskId,
      },
      h(
        "span",
        { class: "row-name" },
        task.task,
        task.parentId ? h("span", { class: "chip" }, "child") : null,
      ),
      h("span", { class: "row-side" }, age, attempt, owner),
      h("span", { class: "row-meta" }, badge, h("span", { class: "row-id mono" }, task.taskId)),
    );
    return { item: h("li", {}, link), link, badge, age, owner, attempt };
  }

  #updateRow(row, task, now) {
    if (row.badge.textContent !== task.status) {
      row.badge.textContent = task.status;
      row.badge.className = `badge status-${task.status}`;
    }
    row.link.dataset.status = task.status;
    row.link.setAttribute("aria-current", task.taskId === this.#selected ? "true" : "false");
    row.age.textContent = relativeAge(task.createdAt, now);
    row.age.title = new Date(task.createdAt).toLocaleString();
    row.attempt.hidden = !(task.attempt > 1);
    row.attempt.textContent = `attempt ${task.attempt}`;
    if (task.owner !== undefined) {
      row.owner.hidden = false;
      row.owner.textContent = task.owner;
    }
  }

  #updateNames(tasks) {
    let changed = false;
    for (const task of tasks) {
      if (!this.#names.has(task.task)) {
        this.#names.add(task.task);
        changed = true;
      }
    }
    if (!changed) return;
    const options = [...this.#names].sort().map((name) => h("option", { value: name }));
    this.#root.querySelector("#task-names").replaceChildren(...options);
  }
}
