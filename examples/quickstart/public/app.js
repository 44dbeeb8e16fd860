// The quickstart page: no build step. It starts a report through the reports plugin (a POST that streams
// Server-Sent Events, parsed with eventsource-parser), and re-attaches with a browser EventSource, which
// resumes with Last-Event-ID after a dropped connection or a server restart. The batch (a flow of child
// reports) lives in batch.js.
import { clearBatch, restoreBatch, showBatch } from "./batch.js";
import {
  $,
  describeError,
  postJson,
  readEventStream,
  sha256Hex,
  showMessage,
  TERMINAL,
  watchTask,
} from "./common.js";
import { clearRecent, onWatch, refreshRecent } from "./recent.js";

const STORAGE_KEY = "taskwire.quickstart.task";

/** State of the task on screen. */
let run = null;

function resetRun(taskId) {
  run?.source?.close();
  run = { taskId, lastSeq: 0, tokens: [], finished: false, source: null, total: 0 };
  $("log").replaceChildren();
  $("run").hidden = false;
  $("task-id").textContent = taskId ?? "…";
  $("digest").hidden = true;
  $("count").textContent = "0";
  $("total").textContent = "?";
  setBar(0);
  setStatus("starting");
  $("cancel").disabled = false;
}

function setStatus(text) {
  $("status").textContent = text;
}
function setConnection(text) {
  $("connection").textContent = text ? `· ${text}` : "";
}
function setBar(fraction) {
  $("bar-fill").style.width = `${Math.round(fraction * 100)}%`;
  $("bar").setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
}
function log(text, className = "") {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  $("log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

/** Handles one frame, from the POST stream or the EventSource alike. */
async function onFrame(name, id, data) {
  if (name === "ready") {
    if (run.taskId !== data.taskId) {
      run.taskId = data.taskId;
      $("task-id").textContent = data.taskId;
    }
    localStorage.setItem(STORAGE_KEY, data.taskId);
    if (!run.listed) {
      run.listed = true;
      void refreshRecent();
    }
    setStatus(data.status);
    setConnection("live");
    return;
  }
  if (name === "interrupted") {
    log(`stream interrupted (${data.code}); resuming after #${run.lastSeq}`, "notice");
    setConnection("reconnecting…");
    return;
  }
  const seq = Number(id);
  if (seq <= run.lastSeq) {
    log(`duplicate event #${seq} ignored`, "notice duplicate");
    return;
  }
  if (seq !== run.lastSeq + 1) log(`gap: expected #${run.lastSeq + 1}, got #${seq}`, "notice gap");
  run.lastSeq = seq;
  if (name === "progress") {
    run.tokens.push(data.token);
    run.total = data.total;
    $("count").textContent = String(data.done);
    $("total").textContent = String(data.total);
    setBar(data.done / data.total);
    setStatus("running");
    log(`#${seq} progress ${data.done}/${data.total} token ${data.token}`);
    return;
  }
  if (TERMINAL.has(name)) {
    run.finished = true;
    run.source?.close();
    localStorage.removeItem(STORAGE_KEY);
    setStatus(name);
    setConnection("");
    $("cancel").disabled = true;
    log(`#${seq} ${name}`, "terminal");
    void refreshRecent();
    if (name === "completed") {
      setBar(1);
      const local = await sha256Hex(run.tokens.join("\n"));
      const ok = local === data.result.digest;
      $("digest").hidden = false;
      $("digest").className = ok ? "ok" : "bad";
      $("digest").textContent = ok
        ? `Digest ${data.result.digest} matches the ${run.tokens.length} tokens streamed: every chunk ran exactly once.`
        : `Digest mismatch: server ${data.result.digest}, page ${local}.`;
      showMessage("Report completed.", true);
    } else if (name === "failed") {
      showMessage(`The report failed: ${data.error.message} (${data.error.code})`);
    } else {
      showMessage("The report was cancelled.", true);
    }
  }
}

/** Starts a report: a POST whose response is the task's SSE stream. */
async function startReport(input) {
  showMessage("");
  resetRun(null);
  const response = await postJson("/api/reports/generate", input, { accept: "text/event-stream" });
  if (!response?.ok) {
    $("run").hidden = true;
    if (response) showMessage(await describeError(response));
    return;
  }
  await readEventStream(response, onFrame);
  if (!run.finished && run.taskId) attach(run.taskId);
}

/** Watches a task with EventSource, which reconnects by itself and sends Last-Event-ID. */
function attach(taskId) {
  run.source?.close();
  const source = watchTask(taskId, run.lastSeq, ["progress"], onFrame);
  run.source = source;
  setConnection("connecting…");
  source.onerror = () => {
    if (run.finished) return source.close();
    setConnection("reconnecting…");
    // CLOSED means the browser gave up (e.g. a 404 or 503 answer): try again ourselves.
    if (source.readyState === EventSource.CLOSED)
      setTimeout(() => run.source === source && !run.finished && attach(taskId), 1000);
  };
}

async function refreshSession() {
  const { user } = await (await fetch("/api/session")).json();
  $("sign-in").hidden = Boolean(user);
  $("signed-in").hidden = !user;
  $("who").textContent = user?.userId ?? "";
  if (user) void refreshRecent();
  else clearRecent();
  $("start-button").disabled = !user;
  $("batch-start").disabled = !user;
  return user;
}

$("sign-in").addEventListener("submit", async (e) => {
  e.preventDefault();
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("user-name").value.trim() }),
  });
  if (!response.ok) return showMessage(await describeError(response));
  showMessage("");
  await refreshSession();
});

$("sign-out").addEventListener("click", async () => {
  await fetch("/api/session", { method: "DELETE" });
  run?.source?.close();
  localStorage.removeItem(STORAGE_KEY);
  $("run").hidden = true;
  clearBatch();
  await refreshSession();
});

$("report-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const input = {};
  for (const key of ["chunks", "chunkMs", "failAt"]) {
    const value = String(form.get(key) ?? "").trim();
    if (value !== "") input[key] = Number(value);
  }
  void startReport(input);
});

$("cancel").addEventListener("click", async () => {
  if (!run?.taskId) return;
  const response = await fetch(`/api/tasks/${encodeURIComponent(run.taskId)}/cancel`, { method: "POST" });
  if (!response.ok) return showMessage(await describeError(response));
  const body = await response.json();
  log(`cancel ${body.outcome}`, "notice");
});

$("recent-refresh").addEventListener("click", () => void refreshRecent());
onWatch({
  report: (taskId) => {
    showMessage("");
    resetRun(taskId);
    attach(taskId);
    $("run").scrollIntoView({ block: "start", behavior: "smooth" });
  },
  batch: (taskId) => {
    showBatch(taskId);
    $("batch").scrollIntoView({ block: "start", behavior: "smooth" });
  },
});

// On load: sign-in state, then re-attach to a task still running from before the reload.
const user = await refreshSession();
const saved = localStorage.getItem(STORAGE_KEY);
if (user && saved) {
  resetRun(saved);
  attach(saved);
}
if (user) restoreBatch();
