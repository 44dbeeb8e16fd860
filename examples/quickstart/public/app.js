// The quickstart page: no build step. It starts a report through the reports plugin (a POST that streams
// Server-Sent Events, parsed with eventsource-parser), and re-attaches with a browser EventSource, which
// resumes with Last-Event-ID after a dropped connection or a server restart.
import { createParser } from "/vendor/eventsource-parser.js";

const $ = (id) => document.getElementById(id);
const STORAGE_KEY = "taskwire.quickstart.task";
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

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
function showMessage(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
  $("message").hidden = !text;
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

async function sha256Hex(text) {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts a report: a POST whose response is the task's SSE stream. */
async function startReport(input) {
  showMessage("");
  resetRun(null);
  let response;
  try {
    response = await fetch("/api/reports/generate", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(input),
    });
  } catch {
    showMessage("Could not reach the server.");
    return;
  }
  if (!response.ok) {
    $("run").hidden = true;
    showMessage(await describeError(response));
    return;
  }
  const parser = createParser({
    onEvent: (e) => void onFrame(e.event ?? "message", e.id, JSON.parse(e.data)),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } catch {
    // The connection dropped (server restart, network): fall through to re-attach.
  }
  if (!run.finished && run.taskId) attach(run.taskId);
}

/** Watches a task with EventSource, which reconnects by itself and sends Last-Event-ID. */
function attach(taskId) {
  run.source?.close();
  const url = `/api/tasks/${encodeURIComponent(taskId)}/events?lastEventId=${run.lastSeq}`;
  const source = new EventSource(url);
  run.source = source;
  setConnection("connecting…");
  for (const name of ["ready", "progress", "completed", "failed", "cancelled", "interrupted"]) {
    source.addEventListener(name, (e) => void onFrame(name, e.lastEventId, JSON.parse(e.data)));
  }
  source.onerror = () => {
    if (run.finished) return source.close();
    setConnection("reconnecting…");
    // CLOSED means the browser gave up (e.g. a 404 or 503 answer): try again ourselves.
    if (source.readyState === EventSource.CLOSED)
      setTimeout(() => run.source === source && !run.finished && attach(taskId), 1000);
  };
}

async function describeError(response) {
  try {
    const body = await response.json();
    const issues = body.error?.details?.issues ?? [];
    const lines = issues.map((i) => `• ${i.path || "(input)"}: ${i.message}`);
    return [body.error?.message ?? `HTTP ${response.status}`, ...lines].join("\n");
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function refreshSession() {
  const { user } = await (await fetch("/api/session")).json();
  $("sign-in").hidden = Boolean(user);
  $("signed-in").hidden = !user;
  $("who").textContent = user?.userId ?? "";
  $("start-button").disabled = !user;
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

// On load: sign-in state, then re-attach to a task still running from before the reload.
const user = await refreshSession();
const saved = localStorage.getItem(STORAGE_KEY);
if (user && saved) {
  resetRun(saved);
  attach(saved);
}
