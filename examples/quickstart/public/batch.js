// The batch part of the page: starts `reports.batch` (a flow), draws the parent and its children as a
// tree, follows each child's own stream for live progress, and answers the approval question.
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
import { refreshRecent } from "./recent.js";

const STORAGE_KEY = "taskwire.quickstart.batch";
// A browser opens at most 6 HTTP/1.1 connections to one host and every open stream holds one. The
// parent's stream plus this many child streams leaves room for the Approve, Reject and Cancel requests.
// Other children show the status the parent's `child` events report, and get their own stream (replayed
// from the start) as soon as one is free.
const MAX_CHILD_STREAMS = 3;

/** The batch on screen: the parent's stream cursor and its children by id. */
let batch = null;

const messageBox = $("batch-message");
const message = (text, ok = false) => showMessage(text, ok, messageBox);
const taskUrl = (taskId, rest) => `/api/tasks/${encodeURIComponent(taskId)}/${rest}`;

function resetBatch(taskId) {
  closeStreams();
  batch = {
    taskId,
    lastSeq: 0,
    finished: false,
    source: null,
    // Aborting the POST that streams the batch also stops a replaced batch (cancel on disconnect).
    request: new AbortController(),
    result: null,
    children: new Map(),
    queue: [],
    streams: 0,
  };
  $("batch-run").hidden = false;
  $("batch-id").textContent = taskId ?? "…";
  $("batch-children").replaceChildren();
  $("batch-result").hidden = true;
  $("approval").hidden = true;
  $("batch-cancel").disabled = false;
  setBatchStatus("starting");
  updateSummary();
}

function closeStreams() {
  if (!batch) return;
  batch.request.abort();
  batch.source?.close();
  for (const child of batch.children.values()) child.source?.close();
}

/** Forgets the batch on screen (sign-out). */
export function clearBatch() {
  closeStreams();
  batch = null;
  localStorage.removeItem(STORAGE_KEY);
  $("batch-run").hidden = true;
}

/** Re-attaches to a batch still running from before a page reload. */
export function restoreBatch() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved) showBatch(saved);
}

/** Shows a batch by id (from the recent list or a reload): replays its stream, then follows it live. */
export function showBatch(taskId) {
  message("");
  resetBatch(taskId);
  localStorage.setItem(STORAGE_KEY, taskId);
  attachParent(batch);
}

function setBatchStatus(status, text = status) {
  $("batch-status").textContent = text;
  $("batch-status").dataset.status = status;
}

function updateSummary() {
  const children = [...batch.children.values()];
  const settled = children.filter((c) => TERMINAL.has(c.status)).length;
  $("batch-summary").textContent = children.length
    ? `${settled} of ${children.length} parts settled`
    : "spawning parts…";
}

/** Starts a batch: a POST whose response is the parent's SSE stream. */
async function startBatch(input) {
  message("");
  resetBatch(null);
  const mine = batch;
  const response = await postJson("/api/reports/batch", input, {
    box: messageBox,
    accept: "text/event-stream",
    signal: mine.request.signal,
  });
  if (batch !== mine) return;
  if (!response?.ok) {
    $("batch-run").hidden = true;
    if (response) message(await describeError(response));
    return;
  }
  await readEventStream(response, (name, id, data) => batch === mine && onBatchFrame(name, id, data));
  if (batch === mine && !mine.finished && mine.taskId) attachParent(mine);
}

/** Watches the parent with EventSource, which reconnects by itself and sends Last-Event-ID. */
function attachParent(mine) {
  mine.source?.close();
  const names = ["child", "awaiting_approval"];
  const source = watchTask(mine.taskId, mine.lastSeq, names, (name, id, data) => {
    if (batch === mine) onBatchFrame(name, id, data);
  });
  mine.source = source;
  source.onerror = () => {
    if (mine.finished || batch !== mine) return source.close();
    // CLOSED means the browser gave up (e.g. a 503 while the server restarts): try again ourselves.
    if (source.readyState === EventSource.CLOSED)
      setTimeout(() => batch === mine && mine.source === source && attachParent(mine), 1000);
  };
}

/** One frame of the parent's stream (POST or EventSource alike). */
function onBatchFrame(name, id, data) {
  if (name === "ready") {
    if (batch.taskId !== data.taskId) void refreshRecent(); // a new batch: list it
    batch.taskId = data.taskId;
    $("batch-id").textContent = data.taskId;
    localStorage.setItem(STORAGE_KEY, data.taskId);
    setBatchStatus(data.status);
    return;
  }
  if (name === "interrupted") return setBatchStatus("interrupted", "reconnecting…");
  const seq = Number(id);
  if (seq <= batch.lastSeq) return; // a replayed frame this page already drew
  batch.lastSeq = seq;
  if (name === "child") {
    if (data.status === "queued") addChild(data.taskId);
    else settleChild(batch.children.get(data.taskId), data.status);
    if (!batch.finished) setBatchStatus("waiting", "waiting for its parts");
    return;
  }
  if (name === "awaiting_approval") {
    setBatchStatus("waiting", "awaiting approval");
    setApprovalButtons(true);
    $("approval").hidden = false;
    return;
  }
  if (!TERMINAL.has(name)) return;
  batch.finished = true;
  batch.source?.close();
  localStorage.removeItem(STORAGE_KEY);
  void refreshRecent();
  setBatchStatus(name);
  $("approval").hidden = true;
  $("batch-cancel").disabled = true;
  if (name === "completed") {
    batch.result = data.result;
    showResult();
  } else if (name === "failed") message(`The batch failed: ${data.error.message} (${data.error.code})`);
  else message("The batch was cancelled, and so was every part still running.", true);
}

/** The batch's result, checked against the digests its parts streamed (those still replaying count later). */
function showResult() {
  const { result } = batch;
  if (!result) return;
  const verdict = result.approved === null ? "" : result.approved ? " You approved it." : " You rejected it.";
  // Each digest in the batch's result must equal the one its part streamed itself.
  const checked = result.parts.filter((p) => batch.children.get(p.taskId)?.digest === p.digest).length;
  $("batch-result").textContent =
    `Batch completed with ${result.parts.length} parts; ${checked} of them match the digest their own ` +
    `stream reported.${verdict}`;
  $("batch-result").hidden = false;
}

function addChild(taskId) {
  if (batch.children.has(taskId)) return;
  const el = $("child-template").content.firstElementChild.cloneNode(true);
  const part = (name) => el.querySelector(`[data-part=${name}]`);
  const child = { batch, taskId, el, part, status: "queued", lastSeq: 0, tokens: [], digest: null };
  part("index").textContent = String(batch.children.size + 1);
  part("id").textContent = taskId;
  el.dataset.taskId = taskId;
  batch.children.set(taskId, child);
  $("batch-children").append(el);
  setChildStatus(child, "queued");
  batch.queue.push(child);
  pump();
}

/** Opens child streams while fewer than MAX_CHILD_STREAMS are open. */
function pump() {
  while (batch.streams < MAX_CHILD_STREAMS && batch.queue.length > 0) {
    const child = batch.queue.shift();
    batch.streams += 1;
    child.source = watchTask(child.taskId, child.lastSeq, ["progress"], (name, id, data) => {
      if (batch === child.batch) void onChildFrame(child, name, id, data);
    });
    // CLOSED: the browser gave up on this stream; the parent's `child` events still report its status.
    child.source.onerror = () => child.source?.readyState === EventSource.CLOSED && releaseStream(child);
  }
}

function releaseStream(child) {
  if (!child.source) return;
  child.source.close();
  child.source = null;
  child.batch.streams -= 1;
  if (batch === child.batch) pump();
}

function setChildStatus(child, status) {
  child.status = status;
  child.el.dataset.status = status;
  child.part("status").textContent = status;
  updateSummary();
}

/** The parent reported a child settled; its own stream may not have said so yet. */
function settleChild(child, status) {
  if (child && !TERMINAL.has(child.status)) setChildStatus(child, status);
}

async function onChildFrame(child, name, id, data) {
  if (name === "ready") {
    if (!TERMINAL.has(child.status)) setChildStatus(child, data.status);
    return;
  }
  if (name === "interrupted") return;
  const seq = Number(id);
  if (seq <= child.lastSeq) return;
  child.lastSeq = seq;
  if (name === "progress") {
    child.tokens.push(data.token);
    child.part("count").textContent = String(data.done);
    child.part("total").textContent = String(data.total);
    setChildBar(child, data.done / data.total);
    if (!TERMINAL.has(child.status)) setChildStatus(child, "running");
    return;
  }
  if (!TERMINAL.has(name)) return;
  releaseStream(child);
  setChildStatus(child, name);
  if (name !== "completed") return;
  setChildBar(child, 1);
  child.digest = data.result.digest;
  const ok = (await sha256Hex(child.tokens.join("\n"))) === child.digest;
  const digest = child.part("digest");
  digest.hidden = false;
  digest.className = `digest ${ok ? "ok" : "bad"}`;
  digest.textContent = ok
    ? `digest ${child.digest} ✓ matches its ${child.tokens.length} tokens`
    : `digest mismatch: server ${child.digest}`;
  if (batch === child.batch) showResult();
}

function setChildBar(child, fraction) {
  const percent = Math.round(fraction * 100);
  child.part("fill").style.width = `${percent}%`;
  child.part("bar").setAttribute("aria-valuenow", String(percent));
}

function setApprovalButtons(enabled) {
  $("approve").disabled = !enabled;
  $("reject").disabled = !enabled;
}

/** Delivers the `approve` signal the waiting batch asks for. */
async function answer(approved) {
  const mine = batch;
  setApprovalButtons(false);
  const url = taskUrl(mine.taskId, "signals/approve");
  const response = await postJson(url, { approved }, { box: messageBox });
  if (response?.ok)
    return setBatchStatus("waiting", approved ? "approved, finishing…" : "rejected, finishing…");
  if (response) message(await describeError(response));
  if (batch === mine && !mine.finished) setApprovalButtons(true);
}

$("approve").addEventListener("click", () => void answer(true));
$("reject").addEventListener("click", () => void answer(false));

$("batch-cancel").addEventListener("click", async () => {
  const mine = batch;
  if (!mine?.taskId) return;
  const response = await postJson(taskUrl(mine.taskId, "cancel"), undefined, { box: messageBox });
  if (!response) return;
  if (!response.ok) return message(await describeError(response));
  const { outcome } = await response.json();
  if (outcome === "requested" && batch === mine && !mine.finished)
    setBatchStatus("cancelling", "cancelling its parts…");
});

$("batch-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const input = { approval: form.get("approval") === "on" };
  for (const key of ["parts", "chunks", "chunkMs"]) {
    const value = String(form.get(key) ?? "").trim();
    if (value !== "") input[key] = Number(value);
  }
  void startBatch(input);
});
