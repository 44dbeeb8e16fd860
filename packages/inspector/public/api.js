// The inspector's JSON API, relative to the page (the router can be mounted anywhere).

/** An API error: `status` and the server's `{ code, message, details }`. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `Request failed (${status})`);
    this.status = status;
    this.code = error?.code ?? "HTTP_ERROR";
    this.details = error?.details;
  }
}

async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    // The CSRF guard: actions without this header are refused.
    init.headers["X-Taskwire-Inspector"] = "1";
    init.headers["Content-Type"] = "application/json";
    init.body = body === undefined ? "{}" : JSON.stringify(body);
  }
  const res = await fetch(`api/${path}`, init);
  const data = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, data?.error);
  return data;
}

const id = (taskId) => encodeURIComponent(taskId);

export const api = {
  me: () => call("GET", "me"),
  list: (query) => call("GET", `tasks?${new URLSearchParams(query)}`),
  detail: (taskId) => call("GET", `tasks/${id(taskId)}`),
  cancel: (taskId) => call("POST", `tasks/${id(taskId)}/cancel`),
  retry: (taskId) => call("POST", `tasks/${id(taskId)}/retry`),
  signal: (taskId, name, payload) =>
    call("POST", `tasks/${id(taskId)}/signals/${encodeURIComponent(name)}`, payload),
  eventsUrl: (taskId, afterSeq) =>
    `api/tasks/${id(taskId)}/events${afterSeq > 0 ? `?lastEventId=${afterSeq}` : ""}`,
};
