import { h, prettyJson } from "./dom.js";

/**
 * The signal form of a task that declares signals: a name select, a JSON payload prefilled from the
 * signal's schema, Send, and for a payload that is a single boolean (`{ approved: boolean }`) one-click
 * true/false buttons (Approve / Reject for `approved`). The server validates the payload against the
 * task's own schema; its error (naming the field) is shown as is.
 */
export function signalForm(signals, send) {
  const select = h(
    "select",
    { name: "name", "data-testid": "signal-name" },
    signals.map((signal) => h("option", { value: signal.name }, signal.name)),
  );
  const payload = h("textarea", {
    name: "payload",
    rows: "3",
    spellcheck: "false",
    class: "mono",
    "aria-label": "Payload (JSON)",
    "data-testid": "signal-payload",
  });
  const message = h("p", { class: "form-message", role: "status", "data-testid": "signal-message" });
  const quick = h("div", { class: "quick" });
  const submit = h(
    "button",
    { type: "submit", class: "primary", "data-testid": "signal-send" },
    "Send signal",
  );
  const buttons = () => [...form.querySelectorAll("button")];

  const deliver = async (name, value) => {
    for (const b of buttons()) b.disabled = true;
    message.className = "form-message";
    message.textContent = "Sending…";
    try {
      const result = await send(name, value);
      message.className = "form-message ok";
      message.textContent = `Delivered "${name}"${result.duplicate ? " (duplicate)" : ""}.`;
    } catch (error) {
      message.className = "form-message error";
      message.textContent = error.message;
    } finally {
      for (const b of buttons()) b.disabled = false;
    }
  };

  const choose = () => {
    const signal = signals.find((s) => s.name === select.value) ?? signals[0];
    payload.value = prettyJson(exampleOf(signal?.schema));
    const flag = booleanFlag(signal?.schema);
    quick.replaceChildren();
    if (!flag) return;
    const approve = flag === "approved";
    quick.append(
      h(
        "button",
        {
          type: "button",
          class: "ok",
          "data-testid": approve ? "approve" : "signal-true",
          onclick: () => void deliver(signal.name, { [flag]: true }),
        },
        approve ? "Approve" : `${flag}: true`,
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-testid": approve ? "reject" : "signal-false",
          onclick: () => void deliver(signal.name, { [flag]: false }),
        },
        approve ? "Reject" : `${flag}: false`,
      ),
    );
  };
  select.addEventListener("change", choose);

  const form = h(
    "form",
    {
      class: "signal-form",
      "data-testid": "signal-form",
      onsubmit: (event) => {
        event.preventDefault();
        let value;
        try {
          value = JSON.parse(payload.value);
        } catch {
          message.className = "form-message error";
          message.textContent = "The payload is not valid JSON.";
          return;
        }
        void deliver(select.value, value);
      },
    },
    quick,
    h("div", { class: "signal-row" }, h("label", {}, h("span", {}, "Signal"), select), submit),
    h("label", { class: "payload" }, h("span", {}, "Payload (JSON)"), payload),
    message,
  );
  choose();
  return form;
}

/** The property name when the schema is an object with exactly one boolean property. */
function booleanFlag(schema) {
  const props = schema?.type === "object" ? Object.entries(schema.properties ?? {}) : [];
  return props.length === 1 && props[0][1]?.type === "boolean" ? props[0][0] : undefined;
}

/** A minimal payload that has the schema's shape (the server still validates it). */
function exampleOf(schema, depth = 0) {
  if (!schema || depth > 4) return null;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, value]) => [key, exampleOf(value, depth + 1)]),
      );
    case "array":
      return [];
    case "boolean":
      return false;
    case "number":
    case "integer":
      return 0;
    case "string":
      return "";
    default:
      return null;
  }
}
