import { jsonText } from "./format";
import { REDACTED } from "./redact";
import type { Column } from "./table";
import type { EventView } from "./views";

/** The columns of an event table (`tasks events`, `tasks show`, each `--follow` line). */
export const EVENT_COLUMNS: readonly Column[] = [
  { head: "SEQ", width: 6 },
  { head: "AT", width: 26 },
  { head: "NAME", width: 20 },
  { head: "DATA" },
];

/** One event as a row of {@link EVENT_COLUMNS}. */
export function eventRow(event: EventView): string[] {
  return [String(event.seq), event.at ?? "-", event.name, eventData(event)];
}

/** A `child` bridge event reads as `queued reports.generate <id>`; other payloads as compact JSON. */
function eventData(event: EventView): string {
  const data = event.data as { taskId?: unknown; task?: unknown; status?: unknown } | null;
  if (event.name === "child" && data && typeof data === "object" && typeof data.taskId === "string")
    return `${String(data.status)} ${String(data.task)}\n${data.taskId}`;
  return shownValue(event.data);
}

/** A value as table text: {@link REDACTED} as it is, anything else as compact JSON. */
export function shownValue(value: unknown): string {
  return value === REDACTED ? REDACTED : jsonText(value);
}
