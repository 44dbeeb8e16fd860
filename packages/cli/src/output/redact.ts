import { isEmittedEventName } from "@taskwire/core/store";

/** What a sensitive value (owner, identity, input, result, step output, event payload) prints as. */
export const REDACTED = "[redacted]";

/** `value` when sensitive values are shown (`--show-sensitive`), {@link REDACTED} otherwise. */
export function sensitive<T>(show: boolean, value: T): T | typeof REDACTED {
  return show ? value : REDACTED;
}

/**
 * Whether an event's payload is the app's data (redacted): the task's own events and the `completed`
 * result. The engine's `child` (child id, task name, status), `failed` (error code and message) and
 * `cancelled` (reason) payloads carry no app data and are always shown.
 */
export function isSensitiveEvent(name: string): boolean {
  return isEmittedEventName(name) || name === "completed";
}
