import { isDeepStrictEqual } from "node:util";
import type { SignalRecord, StartRecord } from "./driver";
import type { StoredState, StoredTask } from "./store-reader";
import {
  CHILD_TASK,
  type ChildInput,
  childEmits,
  childResult,
  type ExpectedEvent,
  PARENT_TASK,
  type ParentInput,
  PLAIN_TASK,
  type PlainInput,
  parentEmits,
  parentResult,
  plainEmits,
  plainResult,
  planItems,
  SIGNAL_NAME,
} from "./tasks";

const show = (value: unknown) => JSON.stringify(value);
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * The durable state against what the driver did: every start is one root task (no more), every task is
 * `completed` with the exact result, its WAL is exactly the expected events with seqs 1..n and one
 * terminal `completed` last; every parent has exactly its children (one per spawn checkpoint, never two),
 * one `child` queued and one `child` completed event per child, and exactly the one signal it was sent,
 * whose token its result carries (no signal lost, none delivered twice).
 */
export function verifyTasks(
  state: StoredState,
  starts: readonly StartRecord[],
  signals: readonly SignalRecord[],
): string[] {
  const violations: string[] = [];
  const byId = new Map(state.tasks.map((task) => [task.id, task]));
  const tokens = new Map(signals.map((s) => [s.taskId, s.token]));

  const started = new Set<string>();
  for (const start of starts) {
    if (!start.taskId) continue;
    started.add(start.taskId);
    const task = byId.get(start.taskId);
    if (!task) violations.push(`start ${start.key}: task ${start.taskId} is not in the store`);
    else if (
      task.name !== start.name ||
      task.owner !== start.owner ||
      !isDeepStrictEqual(task.input, start.input)
    )
      violations.push(
        `start ${start.key}: task ${task.id} is ${task.name} of ${task.owner} with ${show(task.input)}, ` +
          `started as ${start.name} of ${start.owner} with ${show(start.input)}`,
      );
  }
  for (const task of state.tasks)
    if (task.parentId === null && !started.has(task.id))
      violations.push(
        `${task.name} ${task.id} of ${task.owner} is a root task nobody started (a start ran twice?)`,
      );

  for (const task of state.tasks) {
    const label = `${task.name} ${task.id}`;
    if (task.status !== "completed") {
      violations.push(
        `${label} ended ${task.status}, not completed (last event ${show(task.events.at(-1))})`,
      );
      continue;
    }
    if (task.name === PLAIN_TASK) {
      const input = task.input as PlainInput;
      checkWal(violations, task, plainEmits(input), plainResult(input), []);
    } else if (task.name === CHILD_TASK) {
      const parent = task.parentId === null ? undefined : byId.get(task.parentId);
      if (!parent) violations.push(`${label} has no parent in the store (parent id ${task.parentId})`);
      else if (parent.owner !== task.owner)
        violations.push(`${label} is owned by ${task.owner}, its parent ${parent.id} by ${parent.owner}`);
      const input = task.input as ChildInput;
      checkWal(violations, task, childEmits(input), childResult(input), []);
    } else if (task.name === PARENT_TASK) {
      const token = tokens.get(task.id);
      if (token === undefined) {
        violations.push(`${label} completed, but the driver never signalled it`);
        continue;
      }
      const children = state.tasks.filter((t) => t.parentId === task.id);
      checkChildren(violations, task, children);
      checkWal(violations, task, parentEmits(), parentResult(task.input as ParentInput, token), children);
    } else {
      violations.push(`${label}: unexpected task name`);
    }
  }
  for (const signal of signals) checkSignal(violations, signal, state);
  return violations;
}

/** seqs 1..n, own emits exactly as expected, `child` events as the children's lives, `completed` last. */
function checkWal(
  violations: string[],
  task: StoredTask,
  emits: readonly ExpectedEvent[],
  result: unknown,
  children: readonly StoredTask[],
): void {
  const label = `${task.name} ${task.id}`;
  const seqs = task.events.map((e) => e.seq);
  const gapless = seqs.every((seq, i) => seq === i + 1);
  if (!gapless) violations.push(`WAL of ${label}: seqs ${seqs.join(",")} are not 1..${seqs.length}`);
  if (task.lastSeq !== task.events.length)
    violations.push(`${label}: lastSeq ${task.lastSeq}, but the WAL holds ${task.events.length} events`);
  const own = task.events.filter((e) => e.name !== "child" && !TERMINAL.has(e.name));
  const got = own.map((e) => ({ name: e.name, data: e.data }));
  if (!isDeepStrictEqual(got, emits))
    violations.push(
      `WAL of ${label}: emitted ${show(got)}, expected ${show(emits)} (an event lost or written twice)`,
    );
  const terminals = task.events.filter((e) => TERMINAL.has(e.name));
  const last = task.events.at(-1);
  if (terminals.length !== 1 || last?.name !== "completed")
    violations.push(
      `WAL of ${label}: terminal events ${show(terminals.map((e) => e.name))}, the last is ${last?.name}`,
    );
  else if (!isDeepStrictEqual(last.data, { result }))
    violations.push(`${label} completed with ${show(last.data)}, expected ${show({ result })}`);
  if (!isDeepStrictEqual(task.result, result))
    violations.push(`${label}: stored result ${show(task.result)}, expected ${show(result)}`);
  const childEvents = task.events.filter((e) => e.name === "child");
  const expected = children.flatMap((c) => ["queued", "completed"].map((status) => `${c.id}:${status}`));
  const seen = childEvents.map((e) => {
    const d = e.data as { taskId?: string; task?: string; status?: string };
    return `${d.taskId}:${d.status}`;
  });
  if (!isDeepStrictEqual([...seen].sort(), [...expected].sort()))
    violations.push(
      `WAL of ${label}: child events ${show(seen)}, expected one queued and one completed per child ${show(expected)}`,
    );
  for (const child of children) {
    const queued = seen.indexOf(`${child.id}:queued`);
    const done = seen.indexOf(`${child.id}:completed`);
    if (queued >= 0 && done >= 0 && done < queued)
      violations.push(`WAL of ${label}: child ${child.id} completed before it was queued`);
  }
}

/** Exactly `width` children, child i the output of spawn checkpoint i, with the input the plan gave it. */
function checkChildren(violations: string[], parent: StoredTask, children: readonly StoredTask[]): void {
  const label = `${parent.name} ${parent.id}`;
  const { n, width, ms } = parent.input as ParentInput;
  const items = planItems(n, width);
  if (children.length !== width)
    violations.push(
      `${label} has ${children.length} children, expected ${width} (a child spawned twice or lost)`,
    );
  const spawns = parent.steps.filter((s) => s.key.startsWith(`spawn:${CHILD_TASK}#`));
  if (spawns.length !== width)
    violations.push(`${label} has ${spawns.length} spawn checkpoints, expected ${width}`);
  for (let i = 0; i < width; i++) {
    const withIndex = children.filter((c) => (c.input as ChildInput).i === i);
    if (withIndex.length !== 1)
      violations.push(`${label} has ${withIndex.length} children #${i}, expected 1`);
    const child = withIndex[0];
    const spawn = spawns.find((s) => s.key === `spawn:${CHILD_TASK}#${i}`);
    if (child && spawn && spawn.output !== child.id)
      violations.push(
        `${label}: spawn checkpoint #${i} recorded ${show(spawn.output)}, but child #${i} is ${child.id}`,
      );
    if (child && !isDeepStrictEqual(child.input, { i, item: items[i], ms }))
      violations.push(`${label}: child #${i} ${child.id} has input ${show(child.input)}`);
  }
}

/** One stored signal with the driver's token and key; every answer 202 at index 0; duplicates marked. */
function checkSignal(violations: string[], signal: SignalRecord, state: StoredState): void {
  const label = `signal ${SIGNAL_NAME} to ${signal.taskId}`;
  const rows = state.signals.filter((s) => s.taskId === signal.taskId);
  if (rows.length !== 1)
    violations.push(
      `${label}: ${rows.length} signals stored, expected exactly 1 (${show(rows.map((r) => r.payload))})`,
    );
  const row = rows[0];
  if (
    row &&
    (row.name !== SIGNAL_NAME ||
      !isDeepStrictEqual(row.payload, { token: signal.token }) ||
      row.idempotencyKey !== signal.key)
  )
    violations.push(
      `${label}: stored ${show(row)}, sent ${show({ token: signal.token })} with key ${signal.key}`,
    );
  let fresh = 0;
  signal.answers.forEach((answer, i) => {
    const body = answer?.body as { index?: unknown; duplicate?: unknown } | undefined;
    if (answer?.status !== 202 || body?.index !== 0) {
      violations.push(
        `${label}: send #${i + 1} answered ${answer ? `${answer.status} ${show(answer.body)}` : "nothing before the deadline"}`,
      );
      return;
    }
    if (body.duplicate === false) fresh += 1;
    if (i > 0 && body.duplicate !== true)
      violations.push(
        `${label}: the repeated send (same Idempotency-Key) answered duplicate ${show(body.duplicate)}`,
      );
  });
  if (fresh > 1) violations.push(`${label}: ${fresh} sends answered duplicate: false (delivered twice)`);
}
