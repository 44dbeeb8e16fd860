// DOM and formatting helpers. Every value from the server is untrusted (task names, payloads, error
// messages): it only ever reaches the page as text nodes or attribute values, never as markup.

/**
 * Creates an element: `attrs` are set with setAttribute (`class`, `data-*`, `aria-*`, …) except `on*`
 * functions (listeners) and `hidden`/`disabled`/`value` (properties); children are nodes or text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "hidden" || name === "disabled" || name === "value" || name === "checked") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** "4s ago", "3m ago", "2h ago", "5d ago" (or "just now"). */
export function relativeAge(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  if (ms < 1500) return "just now";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** "12 ms", "1.3 s", "2m 05s". */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m ${String(s).padStart(2, "0")}s`;
}

/** Local wall-clock time with milliseconds: "14:03:07.125". */
export function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** JSON for people: one line when short, indented otherwise. */
export function prettyJson(value) {
  const compact = JSON.stringify(value);
  if (compact === undefined) return "undefined";
  return compact.length <= 72 ? compact : JSON.stringify(value, null, 2);
}

/** A status badge. */
export function statusBadge(status, testid) {
  return h("span", { class: `badge status-${status}`, "data-testid": testid }, status);
}

/** Whether a status is terminal. */
export function isTerminal(status) {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** The hash route of a task. */
export function taskHref(taskId) {
  return `#/tasks/${encodeURIComponent(taskId)}`;
}
