import { isDeepStrictEqual } from "node:util";
import { decode } from "@taskwire/core/store";
import type { Delivery, FlowPlan } from "./flow-harness";
import type { FlowState, FlowTaskState } from "./flow-state";
import {
  CHILD_CHECKPOINTS,
  childEmits,
  childLabel,
  childResult,
  FLOW_CHILD,
  flowBodyKeys,
  parentCheckpoints,
  parentEmits,
  parentResult,
  SIGNAL_NAME,
} from "./flow-tasks";
import type { LifeReport } from "./harness";
import { checkCounts, checkLives } from "./verify";

/** Everything a flow run left behind. */
export interface FlowRunFacts {
  seed: number;
  plan: FlowPlan;
  lives: readonly LifeReport[];
  deliveries: readonly Delivery[];
  final: FlowState;
  /** What the signal carried, and the idempotency key of every delivery. */
  token: string;
  idempotencyKey: string;
}

type Fail = (message: string) => void;

/**
 * The durability rules of a flow run (empty = durable):
 *
 * - lives and exactly-once step bodies as for the pipeline (`checkLives`, `checkCounts`), per task;
 * - no duplicate child: exactly `width` children, one per item, each created by exactly one of the
 *   parent's `width` spawn checkpoints (spawn #i recorded child i's id), and no other task;
 * - every task completed at attempt 1 with the expected result and checkpoints; every stream gapless
 *   1..lastSeq with its emitted events exactly as expected and one terminal event, last; the parent's
 *   stream has exactly one `child` `queued` and one `child` `completed` event per child, in that order;
 * - no lost or doubled signal (`flow`): one recorded signal, the payload sent, under the idempotency key;
 *   the parent consumed that payload; every delivery that ended by itself answered index 0, and a
 *   duplicate exactly when an earlier delivery had committed.
 */
export function verifyFlowRun(facts: FlowRunFacts): string[] {
  const violations: string[] = [];
  const fail: Fail = (message) => violations.push(message);
  const { plan } = facts;
  const signal = plan.workload === "flow";
  checkLives(facts.lives, fail);
  checkCounts(facts.lives, { keys: flowBodyKeys(plan.width, signal), ordered: false }, fail);
  const parent = facts.final.tasks.find((t) => t.label === "parent");
  if (!parent) {
    fail("the parent task is missing");
    return violations;
  }
  const children = checkTree(facts, parent, fail);
  const token = signal ? facts.token : null;
  checkTask(parent, parentCheckpoints(plan.width, signal), parentEmits(signal), fail);
  const result = parent.result === null ? undefined : decode<{ childIds?: unknown }>(parent.result);
  const { childIds, ...rest } = result ?? {};
  if (!isDeepStrictEqual(rest, parentResult(facts.seed, plan.width, token)))
    fail(
      `parent result ${parent.result} differs from ${JSON.stringify(parentResult(facts.seed, plan.width, token))}`,
    );
  if (
    !isDeepStrictEqual(
      childIds,
      children.map((c) => c?.id),
    )
  )
    fail(`parent result childIds ${JSON.stringify(childIds)} are not the spawned children in order`);
  checkBridgeEvents(parent, children, fail);
  for (const [i, child] of children.entries()) {
    if (!child) continue;
    checkTask(child, CHILD_CHECKPOINTS, childEmits(i), fail);
    const got = child.result === null ? undefined : decode(child.result);
    if (!isDeepStrictEqual(got, childResult(facts.seed, plan.width, i)))
      fail(
        `${child.label} result ${child.result} differs from ${JSON.stringify(childResult(facts.seed, plan.width, i))}`,
      );
  }
  if (signal) checkSignal(facts, parent, fail);
  else if (facts.final.signals.length > 0)
    fail(`the waves flow has signals: ${JSON.stringify(facts.final.signals)}`);
  return violations;
}

/** Exactly `width` children, one per index, each the output of the matching spawn checkpoint. */
function checkTree(facts: FlowRunFacts, parent: FlowTaskState, fail: Fail): Array<FlowTaskState | undefined> {
  const { width } = facts.plan;
  const others = facts.final.tasks.filter((t) => t !== parent && t.parentId !== parent.id);
  if (others.length > 0) fail(`unexpected tasks: ${others.map((t) => `${t.name} ${t.id}`).join(", ")}`);
  const kids = facts.final.tasks.filter((t) => t.parentId === parent.id);
  if (kids.length !== width)
    fail(`the parent has ${kids.length} children, expected exactly ${width}: ${kids.map((k) => k.label)}`);
  const spawns = parent.steps.filter((s) => s.key.startsWith("spawn:"));
  if (spawns.length !== width) fail(`the parent has ${spawns.length} spawn checkpoints, expected ${width}`);
  return Array.from({ length: width }, (_, i) => {
    const label = childLabel(i);
    const matching = kids.filter((k) => k.label === label);
    if (matching.length !== 1) fail(`expected exactly one ${label}, found ${matching.length}`);
    const child = matching[0];
    const spawn = spawns.find((s) => s.key === `spawn:${FLOW_CHILD}#${i}`);
    if (child && spawn && decode(spawn.output) !== child.id)
      fail(`spawn checkpoint #${i} recorded ${spawn.output}, but ${label} is ${child.id}`);
    if (child && child.name !== FLOW_CHILD) fail(`${label} runs ${child.name}`);
    return child;
  });
}

/** Completed at attempt 1 with exactly these checkpoints; a gapless stream with exactly these emits. */
function checkTask(
  task: FlowTaskState,
  checkpoints: readonly string[],
  emits: ReadonlyArray<{ name: string; data: unknown }>,
  fail: Fail,
): void {
  const who = task.label;
  if (task.status !== "completed") {
    const last = task.events.at(-1);
    fail(
      `${who} is ${task.status}, expected completed${last ? ` (last event ${last.name} ${last.data})` : ""}`,
    );
  }
  if (task.attempt !== 1) fail(`${who} attempt is ${task.attempt}, expected 1 (a crash is not a retry)`);
  const keys = task.steps.map((s) => s.key);
  const positions = task.steps.map((s) => s.position);
  if (!isDeepStrictEqual(keys, [...checkpoints]) || !positions.every((p, i) => p === i))
    fail(`${who} checkpoints are [${keys}] at [${positions}], expected [${checkpoints}]`);
  const seqs = task.events.map((e) => e.seq);
  if (!seqs.every((seq, i) => seq === i + 1))
    fail(`${who} event seqs are [${seqs}], expected 1..n without gaps`);
  if (task.lastSeq !== task.events.length)
    fail(`${who} lastSeq is ${task.lastSeq} but its WAL holds ${task.events.length} events`);
  const terminals = task.events.filter((e) => ["completed", "failed", "cancelled"].includes(e.name));
  if (terminals.length !== 1 || task.events.at(-1) !== terminals[0])
    fail(
      `${who}: expected exactly one terminal event, last; found ${terminals.map((e) => `${e.seq}:${e.name}`)}`,
    );
  const emitted = task.events.filter((e) => e.name !== "child" && !terminals.includes(e));
  if (task.emits !== emitted.length) fail(`${who} emits is ${task.emits}, its WAL holds ${emitted.length}`);
  const got = emitted.map((e) => ({ name: e.name, data: decode(e.data) }));
  if (!isDeepStrictEqual(got, emits))
    fail(
      `${who} emitted ${JSON.stringify(got)}, expected ${JSON.stringify(emits)} (lost, duplicated or reordered)`,
    );
}

/** One `queued` then one `completed` `child` event per child in the parent's stream, and nothing else. */
function checkBridgeEvents(
  parent: FlowTaskState,
  children: Array<FlowTaskState | undefined>,
  fail: Fail,
): void {
  const bridge = parent.events
    .filter((e) => e.name === "child")
    .map((e) => ({ seq: e.seq, ...decode<{ taskId: string; task: string; status: string }>(e.data) }));
  const ids = new Set(children.map((c) => c?.id));
  for (const event of bridge) {
    if (!ids.has(event.taskId) || event.task !== FLOW_CHILD)
      fail(
        `parent child event seq ${event.seq} names ${event.task} ${event.taskId}, not one of its children`,
      );
  }
  for (const child of children) {
    if (!child) continue;
    const mine = bridge.filter((e) => e.taskId === child.id).map((e) => e.status);
    if (!isDeepStrictEqual(mine, ["queued", "completed"]))
      fail(`parent child events for ${child.label} are [${mine}], expected [queued, completed]`);
  }
}

/** One signal, the payload sent, consumed by the parent; deliveries answered as idempotent retries. */
function checkSignal(facts: FlowRunFacts, parent: FlowTaskState, fail: Fail): void {
  const sent = { token: facts.token };
  const rows = facts.final.signals.filter((s) => s.taskId === parent.id);
  if (rows.length !== 1) fail(`the parent has ${rows.length} recorded signals, expected exactly 1`);
  const row = rows[0];
  if (row && (row.name !== SIGNAL_NAME || row.idx !== 0 || row.idempotencyKey !== facts.idempotencyKey))
    fail(`the recorded signal is ${JSON.stringify(row)}`);
  if (row && !isDeepStrictEqual(decode(row.payload), sent))
    fail(`the recorded signal payload ${row.payload} differs from the one sent ${JSON.stringify(sent)}`);
  const consumed = parent.steps.find((s) => s.key === `signal:${SIGNAL_NAME}#0`);
  // The checkpoint records the payload and the arrival index of the signal it consumed (the only one: 0).
  if (!consumed || !isDeepStrictEqual(decode(consumed.output), { payload: sent, index: 0 }))
    fail(
      `the parent consumed ${consumed?.output ?? "no signal"}, expected ${JSON.stringify({ payload: sent, index: 0 })}`,
    );
  if (facts.deliveries.length === 0) fail("the signal was never delivered");
  // Whether an earlier delivery committed: known after an answer or a `delivered` point, unknown after a
  // delivery killed while running past its `deliver` point (the write may or may not have landed).
  let committed: boolean | "unknown" = false;
  for (const [i, d] of facts.deliveries.entries()) {
    if (d.timedOut || (!d.killed && (d.exitCode !== 0 || !d.signalled)))
      fail(
        `signal delivery ${i + 1} ended with exit code ${d.exitCode} without an answer: ${d.stderr.trim()}`,
      );
    const answer = d.signalled;
    if (answer && (answer.index !== 0 || (committed !== "unknown" && answer.duplicate !== committed)))
      fail(
        `signal delivery ${i + 1} answered ${JSON.stringify(answer)}, expected index 0, duplicate ${committed}`,
      );
    if (answer || d.points.some((p) => p.startsWith("delivered:"))) committed = true;
    else if (d.killed && d.style === "run" && d.points.some((p) => p.startsWith("deliver:")) && !committed)
      committed = "unknown";
  }
}
