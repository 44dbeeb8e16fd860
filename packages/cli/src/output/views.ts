import type { TaskEvent } from "@taskwire/core";
import { decode, type EventRecord, type StepRecord, type TaskRecord } from "@taskwire/core/store";
import { isoTime } from "./format";
import { isSensitiveEvent, REDACTED, sensitive } from "./redact";

/** A task as `--json` prints it; sensitive fields are {@link REDACTED} unless shown. */
export interface TaskView {
  taskId: string;
  task: string;
  status: string;
  attempt: number;
  claims: number;
  owner: string;
  createdAt: string | null;
  updatedAt: string | null;
  parentId: string | null;
  cancelRequestedAt: string | null;
  lastSeq: number;
  input: unknown;
  result: unknown;
  identity: unknown;
  error: { code: string; message: string } | null;
}

/** The JSON view of a task record. */
export function taskView(task: TaskRecord, show: boolean): TaskView {
  return {
    taskId: task.id,
    task: task.name,
    status: task.status,
    attempt: task.attempt,
    claims: task.claims,
    owner: sensitive(show, task.owner),
    createdAt: isoTime(task.createdAt),
    updatedAt: isoTime(task.updatedAt),
    parentId: task.parentId,
    cancelRequestedAt: isoTime(task.cancelRequestedAt),
    lastSeq: task.lastSeq,
    input: show ? decodeValue(task.input) : REDACTED,
    result: task.result === null ? null : show ? decodeValue(task.result) : REDACTED,
    identity: task.identity === null ? null : show ? parseIdentity(task.identity) : REDACTED,
    error: task.error && { code: task.error.code, message: task.error.message },
  };
}

/** A WAL event as `--json` prints it. */
export interface EventView {
  seq: number;
  name: string;
  at: string | null;
  data: unknown;
}

/** The JSON view of a stored event; app payloads are redacted unless shown (see `isSensitiveEvent`). */
export function eventView(event: EventRecord, show: boolean): EventView {
  const data = show || !isSensitiveEvent(event.name) ? decodeValue(event.data) : REDACTED;
  return { seq: event.seq, name: event.name, at: isoTime(event.at), data };
}

/** The JSON view of an event as `taskflow.subscribe` yields it (payload already decoded). */
export function liveEventView(event: TaskEvent, show: boolean): EventView {
  const data = show || !isSensitiveEvent(event.name) ? event.data : REDACTED;
  return { seq: event.seq, name: event.name, at: isoTime(event.at.getTime()), data };
}

/** A step checkpoint as `--json` prints it. */
export interface StepView {
  position: number;
  key: string;
  startedAt: string | null;
  at: string | null;
  /** `at - startedAt`; `null` for a checkpoint recorded before start times were kept. */
  durationMs: number | null;
  attempts: number | null;
  output: unknown;
}

/** The JSON view of a step checkpoint. */
export function stepView(step: StepRecord, show: boolean): StepView {
  const startedAt = typeof step.startedAt === "number" ? step.startedAt : null;
  return {
    position: step.position,
    key: step.key,
    startedAt: isoTime(startedAt),
    at: isoTime(step.at),
    durationMs: startedAt === null ? null : Math.max(0, step.at - startedAt),
    attempts: typeof step.attempts === "number" ? step.attempts : null,
    output: show ? decodeValue(step.output) : REDACTED,
  };
}

/** Decodes a WAL value; text that is not the codec's (a foreign writer) is shown as it is. */
function decodeValue(text: string): unknown {
  try {
    return decode(text);
  } catch {
    return text;
  }
}

function parseIdentity(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
