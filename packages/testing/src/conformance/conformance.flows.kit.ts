import { randomUUID } from "node:crypto";
import {
  CHILD_EVENT,
  type ChildSpawn,
  childEventData,
  decode,
  encode,
  type Lease,
  NEVER_DUE,
  type TaskRecord,
  type TaskStatus,
  type TerminalEventName,
  type WakeOn,
} from "@taskwire/core/store";
import { type Kit, type Ring, ring, T0, TERMINAL_SETTLEMENTS, untilRung } from "./conformance.kit";

/**
 * A `spawnChild` request at spawn checkpoint `position`. The child's name is its own (claiming that name
 * claims that child only), its `runAt` and the spawn time are `now`.
 */
export function spawnSpec(kit: Kit, position: number, now = T0 + 1): ChildSpawn {
  const id = randomUUID();
  const name = `${kit.ns}.child.${id}`;
  return {
    step: {
      position,
      key: `spawn#${position}`,
      output: encode(id),
      emits: 0,
      startedAt: now - 3,
      at: now,
      attempts: 1,
    },
    child: { id, name, input: encode({ part: position }), runAt: now },
    event: childEventData(id, name, "queued"),
    now,
  };
}

/** Spawns a child under the parent's `lease` at checkpoint `position`; returns the child's record. */
export async function spawn(kit: Kit, lease: Lease, position: number, now = T0 + 1): Promise<TaskRecord> {
  const spec = spawnSpec(kit, position, now);
  await kit.store.spawnChild(lease, spec);
  return kit.get(spec.child.id);
}

/** Claims the child `childId` (and nothing else) at `now`; returns its lease. */
export async function claimChild(kit: Kit, childId: string, now = T0 + 10): Promise<Lease> {
  const child = await kit.get(childId);
  const [claimed, ...rest] = await kit.claim(now, 10, "child-worker", [child.name]);
  if (!claimed || rest.length > 0) throw new Error(`child ${childId} was not claimable alone at ${now}`);
  return claimed.lease;
}

/** Claims the child `childId` and settles it `status` at `now`. */
export async function finishChild(
  kit: Kit,
  childId: string,
  status: TerminalEventName,
  now = T0 + 10,
): Promise<void> {
  const lease = await claimChild(kit, childId, now);
  await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS[status], now);
}

/** Settles a running task `waiting` (until `runAt`, `NEVER_DUE` by default) at `now`; returns the record. */
export async function park(
  kit: Kit,
  lease: Lease,
  wakeOn: WakeOn = {},
  runAt = NEVER_DUE,
  now = T0 + 5,
): Promise<TaskRecord> {
  await kit.store.settleTask(lease, { status: "waiting", runAt, wakeOn }, now);
  return kit.get(lease.taskId);
}

/** A running parent with one `queued` child spawned at checkpoint 0. */
export async function parentWithChild(
  kit: Kit,
): Promise<{ parent: TaskRecord; lease: Lease; child: TaskRecord }> {
  const { lease } = await kit.running();
  const child = await spawn(kit, lease, 0);
  return { parent: await kit.get(lease.taskId), lease, child };
}

/** A task that emitted two events and then `failed` (seq 3) at `T0 + 5`. */
export async function failedTask(kit: Kit): Promise<TaskRecord> {
  const { lease } = await kit.running();
  await kit.emit(lease, 2);
  await kit.store.settleTask(lease, TERMINAL_SETTLEMENTS.failed, T0 + 5);
  return kit.get(lease.taskId);
}

/** The decoded payload of a `child` bridge event. */
export interface ChildEventData {
  taskId: string;
  task: string;
  status: TaskStatus;
}

/** The task's `child` bridge events, decoded, in seq order. */
export async function childEvents(
  kit: Kit,
  taskId: string,
): Promise<Array<{ seq: number; at: number; data: ChildEventData }>> {
  const events = await kit.store.readEvents(taskId, 0, 1_000);
  return events
    .filter((e) => e.name === CHILD_EVENT)
    .map((e) => ({ seq: e.seq, at: e.at, data: decode<ChildEventData>(e.data) }));
}

/** A work watcher on `kit` (`watchWork`); `after` runs a write and waits, with a deadline, for a ring it caused. */
export function watchWorkOf(kit: Kit, label = "watchWork ring") {
  const bell: Ring = ring(kit.ringTimeoutMs, label);
  const unwatch = kit.store.watchWork(bell.fn);
  /** Runs `write`, then waits for a ring that came after it started and after which `check` passes. */
  const after = async (write: () => Promise<unknown>, check: () => Promise<boolean>, what: string) => {
    const seen = bell.calls.length;
    await write();
    await untilRung(bell, check, kit.ringTimeoutMs, `a work ring after ${what}`, seen);
  };
  return { bell, unwatch, after };
}

/** A check for `after`: the task is `queued` (claimable) now. */
export function isQueued(kit: Kit, taskId: string): () => Promise<boolean> {
  return async () => (await kit.store.getTask(taskId))?.status === "queued";
}
