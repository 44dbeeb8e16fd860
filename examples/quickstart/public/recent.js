// "Your recent tasks": the signed-in user's newest top-level tasks from GET /api/tasks (owner-scoped by the
// server), each with a button that re-attaches the page to it (a finished task replays its whole stream).
import { $ } from "./common.js";

const SHOWN = 8;
let handlers = { report: () => {}, batch: () => {} };

/** Sets what "Watch" does for each task name: `{ report(taskId), batch(taskId) }`. */
export function onWatch(next) {
  handlers = next;
}

/** Hides the list (signed out). */
export function clearRecent() {
  $("recent").hidden = true;
  $("recent-list").replaceChildren();
}

/** Reloads the list; children of a batch are left out (the batch view shows them). */
export async function refreshRecent() {
  let body;
  try {
    const response = await fetch("/api/tasks?limit=50");
    if (!response.ok) return clearRecent();
    body = await response.json();
  } catch {
    return; // the server is restarting: keep what is on screen
  }
  const roots = body.tasks.filter((t) => !t.parentId).slice(0, SHOWN);
  $("recent").hidden = false;
  $("recent-empty").hidden = roots.length > 0;
  $("recent-list").replaceChildren(...roots.map(row));
}

function row(task) {
  const li = document.createElement("li");
  li.dataset.testid = "recent-task";
  li.dataset.taskId = task.taskId;
  const name = document.createElement("span");
  name.className = "node-name";
  name.textContent = task.task;
  const id = document.createElement("code");
  id.textContent = task.taskId;
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.dataset.status = task.status;
  badge.textContent = task.status;
  const age = document.createElement("time");
  age.dateTime = task.createdAt;
  age.textContent = ago(task.createdAt);
  age.title = new Date(task.createdAt).toLocaleString();
  const watch = document.createElement("button");
  watch.type = "button";
  watch.className = "secondary";
  watch.textContent = "Watch";
  watch.dataset.testid = "recent-watch";
  watch.addEventListener("click", () =>
    task.task === "reports.batch" ? handlers.batch(task.taskId) : handlers.report(task.taskId),
  );
  const inspect = document.createElement("a");
  inspect.href = `/inspector#/tasks/${encodeURIComponent(task.taskId)}`;
  inspect.textContent = "Inspect";
  li.append(name, badge, age, id, watch, inspect);
  return li;
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
