import { isTerminalStatus, type Taskflow, type TaskSnapshot } from "@taskwire/core";
import { decode, type StepRecord } from "@taskwire/core/store";
import { z } from "zod";
import { jsonSafe, taskView, type ViewOptions } from "./task-view";

/** Encoded values longer than this are left out of the detail (their size is given instead). */
const MAX_VALUE_CHARS = 8192;
/** Children listed per task in the tree. */
const MAX_CHILDREN = 100;

/** One row of a task's step timeline. */
export interface TimelineStep {
  position: number;
  key: string;
  /** When the step's first attempt began (ISO); null when the store did not record it. */
  startedAt: string | null;
  /** When its checkpoint was recorded (ISO). */
  at: string;
  /** `at - startedAt` in ms; null without `startedAt`. */
  durationMs: number | null;
  /** Attempts the step body took; null when the store did not record it. */
  attempts: number | null;
  /** Events the step body emitted. */
  emits: number;
  /** The step's result (JSON-safe), unless it is larger than 8 KiB encoded. */
  output?: unknown;
  /** The encoded size of an output left out. */
  outputChars?: number;
}

/** A child task in the tree (its own children down to the depth limit). */
export interface ChildNode {
  taskId: string;
  task: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  children: ChildNode[];
  /** True when this task has more children than listed, or children below the depth limit. */
  truncated: boolean;
}

/** A signal the task declares, with its payload's JSON Schema when zod can express it. */
export interface SignalInfo {
  name: string;
  schema?: unknown;
}

/** Options of {@link taskDetail}. */
export interface DetailOptions extends ViewOptions {
  /** Levels of children to list. */
  childDepth: number;
}

/**
 * A task's detail: its view with `input` and `result`, the step timeline (checkpoints in position order
 * with duration and attempts), its children as a tree, the signals and event names its definition
 * declares (empty when this process has not registered the task), and which actions apply now. Must run
 * under the request's grant: `taskflow.get` is the owner check (404) before anything else is read.
 */
export async function taskDetail(taskflow: Taskflow, taskId: string, options: DetailOptions) {
  const snapshot = await taskflow.get(taskId);
  const [record, history, children] = await Promise.all([
    taskflow.store.getTask(snapshot.taskId),
    taskflow.store.loadHistory(snapshot.taskId),
    childTree(taskflow, snapshot.taskId, options.childDepth),
  ]);
  const registration = taskflow.hasTask(snapshot.task) ? taskflow.getRegistration(snapshot.task) : undefined;
  const definition = registration?.definition;
  const signals: SignalInfo[] = Object.entries(definition?.signals ?? {}).map(([name, schema]) => ({
    name,
    ...schemaOf(schema),
  }));
  const task = taskView(snapshot, options, true);
  if (record) Object.assign(task, encodedValue("input", record.input));
  const active = !isTerminalStatus(snapshot.status);
  return {
    task,
    registered: registration !== undefined,
    steps: history.steps.map(timelineStep),
    children: inSpawnOrder(children.nodes, history.steps),
    childrenTruncated: children.truncated,
    signals,
    events: Object.keys(definition?.events ?? {}),
    actions: {
      cancel: active && snapshot.cancelRequestedAt === undefined,
      retry: snapshot.status === "failed",
      signal: active && signals.length > 0,
    },
  };
}

/**
 * Children in the order the parent spawned them (its spawn checkpoints hold their ids), which the listing
 * cannot give when several were created in the same millisecond; children without a checkpoint go last.
 */
function inSpawnOrder(nodes: ChildNode[], steps: readonly StepRecord[]): ChildNode[] {
  const order = new Map<string, number>();
  for (const step of steps) {
    if (!step.key.startsWith("spawn:")) continue;
    try {
      const id = decode(step.output);
      if (typeof id === "string") order.set(id, step.position);
    } catch {
      // Not a child id: leave the listing order.
    }
  }
  const rank = (node: ChildNode) => order.get(node.taskId) ?? Number.MAX_SAFE_INTEGER;
  return [...nodes].sort((a, b) => rank(a) - rank(b));
}

function timelineStep(step: StepRecord): TimelineStep {
  // Checkpoints written before stores recorded `startedAt`/`attempts` lack them: shown as unknown.
  const startedAt = typeof step.startedAt === "number" ? step.startedAt : undefined;
  const attempts = typeof step.attempts === "number" ? step.attempts : null;
  return {
    position: step.position,
    key: step.key,
    startedAt: startedAt === undefined ? null : new Date(startedAt).toISOString(),
    at: new Date(step.at).toISOString(),
    durationMs: startedAt === undefined ? null : Math.max(0, step.at - startedAt),
    attempts,
    emits: step.emits,
    ...encodedValue("output", step.output),
  };
}

/** `{ [name]: value }` decoded and JSON-safe, or `{ [name + "Chars"]: size }` when too large. */
function encodedValue(name: string, encoded: string): Record<string, unknown> {
  if (encoded.length > MAX_VALUE_CHARS) return { [`${name}Chars`]: encoded.length };
  try {
    return { [name]: jsonSafe(decode(encoded)) };
  } catch {
    return { [`${name}Chars`]: encoded.length };
  }
}

async function childTree(
  taskflow: Taskflow,
  parentId: string,
  depth: number,
): Promise<{ nodes: ChildNode[]; truncated: boolean }> {
  if (depth <= 0) {
    const any = await taskflow.list({ parentId, limit: 1 });
    return { nodes: [], truncated: any.length > 0 };
  }
  // Listed under the grant like every read: children share their parent's owner, so this never widens it.
  const page = await taskflow.list({ parentId, limit: MAX_CHILDREN + 1 });
  const listed = page.slice(0, MAX_CHILDREN).reverse(); // oldest first: spawn order
  const nodes = await Promise.all(
    listed.map(async (child): Promise<ChildNode> => {
      const below = await childTree(taskflow, child.taskId, depth - 1);
      return { ...childSummary(child), children: below.nodes, truncated: below.truncated };
    }),
  );
  return { nodes, truncated: page.length > MAX_CHILDREN };
}

function childSummary(child: TaskSnapshot) {
  return {
    taskId: child.taskId,
    task: child.task,
    status: child.status,
    createdAt: child.createdAt.toISOString(),
    updatedAt: child.updatedAt.toISOString(),
  };
}

function schemaOf(schema: unknown): { schema?: unknown } {
  try {
    return { schema: z.toJSONSchema(schema as z.ZodType, { unrepresentable: "any", io: "input" }) };
  } catch {
    return {};
  }
}
