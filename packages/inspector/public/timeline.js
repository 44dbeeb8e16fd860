import { duration, h, isTerminal } from "./dom.js";

/**
 * The step timeline: one row per checkpoint (position order) with a bar placed on a shared time axis
 * from the task's creation to its last checkpoint (or now, while it runs), so long steps stand out.
 */
export function renderTimeline(steps, task, now = Date.now()) {
  if (steps.length === 0)
    return h(
      "p",
      { class: "hint" },
      isTerminal(task.status) ? "No checkpoints were recorded." : "No checkpoint yet.",
    );
  const t0 = Math.min(Date.parse(task.createdAt), ...steps.map((s) => Date.parse(s.startedAt ?? s.at)));
  const end = Math.max(...steps.map((s) => Date.parse(s.at)), isTerminal(task.status) ? 0 : now);
  const span = Math.max(1, end - t0);
  const pct = (ms) => `${Math.min(100, Math.max(0, (ms / span) * 100)).toFixed(3)}%`;
  const total = steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
  const rows = steps.map((step) => {
    const at = Date.parse(step.at);
    const start = step.startedAt ? Date.parse(step.startedAt) : at;
    const bar = h("span", { class: `bar${step.durationMs === null ? " bar-point" : ""}` });
    // Set as properties: no inline style attribute (the CSP forbids them) and no markup from data.
    bar.style.left = pct(start - t0);
    bar.style.width = step.durationMs === null ? "" : `max(3px, ${pct(at - start)})`;
    const retried = step.attempts !== null && step.attempts > 1;
    return h(
      "li",
      { class: "step", "data-testid": "timeline-row", "data-key": step.key },
      h("span", { class: "step-pos mono" }, String(step.position)),
      h("span", { class: "step-key mono", title: step.key }, step.key),
      h("span", { class: "track", "aria-hidden": "true" }, bar),
      h("span", { class: "step-dur mono", "data-testid": "step-duration" }, duration(step.durationMs)),
      h(
        "span",
        { class: `step-attempts${retried ? " retried" : ""}`, title: "attempts" },
        step.attempts === null ? "" : `×${step.attempts}`,
      ),
      step.output !== undefined || step.outputChars !== undefined ? outputOf(step) : null,
    );
  });
  return h(
    "div",
    {},
    h("ol", { class: "timeline" }, rows),
    h(
      "p",
      { class: "hint" },
      `${steps.length} checkpoint${steps.length === 1 ? "" : "s"} · ${duration(total)} in steps`,
    ),
  );
}

function outputOf(step) {
  const text =
    step.output !== undefined ? JSON.stringify(step.output) : `(${step.outputChars} characters, not shown)`;
  return h("span", { class: "step-output mono", title: text }, text);
}
