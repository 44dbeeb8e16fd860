import { isDeepStrictEqual } from "node:util";
import { decode } from "@taskwire/core/store";
import type { FinalState, LifeReport } from "./harness";
import { expectedEvents, expectedResult, STEP_KEYS } from "./pipeline-task";

/**
 * The durability rules, checked against what the lives left behind. Returns one sentence per broken
 * rule (empty = durable):
 *
 * - Exactly-once across checkpoints: a step whose checkpoint had committed when a life began never
 *   runs again; a life runs each body at most once; at each SIGKILL at most one step (the one in flight)
 *   ran without committing; a life that ended by itself left no such step. So every step's execution
 *   count is exactly 1 + the number of kills that caught it in flight.
 * - Checkpoints only grow, in order, and each one matches a body that really ran.
 * - The WAL holds exactly the expected events with seqs 1..n (no gap, none lost, none twice), then
 *   exactly one terminal `completed` event carrying the expected result; `lastSeq = n`.
 * - One task row (later lives attached through the idempotency key), completed at attempt 1 (crash
 *   recovery is not a retry).
 */
export function verifyRun(seed: number, lives: readonly LifeReport[], final: FinalState): string[] {
  const violations: string[] = [];
  const fail = (message: string) => violations.push(message);
  checkLives(lives, fail);
  checkCounts(lives, { keys: STEP_KEYS, ordered: true }, fail);
  checkFinal(seed, final, fail);
  return violations;
}

/**
 * Every life ended by a SIGKILL or by seeing the task terminal (never a timeout or a crash of its own);
 * restarts attached to the first life's task through the idempotency key (one root task row).
 */
export function checkLives(lives: readonly LifeReport[], fail: (message: string) => void): void {
  const taskIds = new Set<string>();
  for (const [i, life] of lives.entries()) {
    const label = `life ${i + 1} (${life.mode})`;
    for (const id of life.taskIds) taskIds.add(id);
    if (life.timedOut) fail(`${label} timed out (the task never reached a terminal state)`);
    else if (!life.killed && (life.exitCode !== 0 || life.terminal === undefined))
      fail(`${label} ended with exit code ${life.exitCode} before the task was terminal`);
    if (life.started) {
      taskIds.add(life.started.taskId);
      // A restart with the same idempotency key must attach to the first run, never start a second one.
      const shouldCreate = life.mode === "start";
      if (life.started.created !== shouldCreate)
        fail(`${label}: start() returned created=${life.started.created}, expected ${shouldCreate}`);
    }
  }
  if (taskIds.size !== 1)
    fail(`expected exactly one task row, found ${taskIds.size}: ${[...taskIds].join(", ")}`);
  if (lives.at(-1)?.terminal === undefined) fail("no life saw the task reach a terminal event");
}

/** Which step bodies a workload has, and whether its checkpoints must commit strictly in order. */
export interface CountRules {
  /** Every step body's count key (`chunk#0`, or `label/key` for the flow workloads). */
  keys: readonly string[];
  /** Checkpoints are a growing prefix of `keys` (one sequential task); otherwise only a growing set. */
  ordered: boolean;
}

/** The task a count key belongs to: the part before `/` (one unnamed task for the pipeline). */
const taskOf = (key: string): string => (key.includes("/") ? key.slice(0, key.indexOf("/")) : "");

/**
 * Exactly-once across checkpoints, from the counts file and the committed checkpoints after each life.
 * Several tasks (a parent and its children) may run at once, so "at most one step in flight at a kill"
 * holds per task.
 */
export function checkCounts(
  lives: readonly LifeReport[],
  rules: CountRules,
  fail: (message: string) => void,
): void {
  let committedBefore: readonly string[] = [];
  let countsBefore: Record<string, number> = {};
  const caughtInFlight: Record<string, number> = {};
  for (const [i, life] of lives.entries()) {
    const label = `life ${i + 1}`;
    const ran = Object.keys(life.counts).filter((k) => (life.counts[k] ?? 0) > (countsBefore[k] ?? 0));
    for (const key of ran) {
      const times = (life.counts[key] ?? 0) - (countsBefore[key] ?? 0);
      if (committedBefore.includes(key))
        fail(`${label}: step ${key} ran ${times}x although its checkpoint had committed in an earlier life`);
      if (times > 1) fail(`${label}: step ${key} ran ${times}x within one life`);
      if (!rules.keys.includes(key)) fail(`${label}: unknown step ${key} ran`);
    }
    const kept = rules.ordered
      ? isPrefix(committedBefore, life.committed)
      : committedBefore.every((key) => life.committed.includes(key));
    if (!kept) fail(`${label}: checkpoints [${committedBefore}] were not kept (now [${life.committed}])`);
    if (rules.ordered && !isPrefix(life.committed, rules.keys))
      fail(`${label}: checkpoints [${life.committed}] are not in step order [${rules.keys}]`);
    for (const key of life.committed) {
      if (rules.keys.includes(key) && (life.counts[key] ?? 0) === 0)
        fail(`${label}: step ${key} has a checkpoint but its body never ran`);
    }
    const inFlight = ran.filter((k) => !life.committed.includes(k));
    for (const task of new Set(inFlight.map(taskOf))) {
      const steps = inFlight.filter((k) => taskOf(k) === task);
      if (life.killed && steps.length > 1)
        fail(
          `${label}: ${steps.length} steps of one task ran without a checkpoint before one kill: ${steps}`,
        );
    }
    if (!life.killed && inFlight.length > 0)
      fail(`${label} ended on its own but steps ${inFlight} ran without committing a checkpoint`);
    for (const key of inFlight) caughtInFlight[key] = (caughtInFlight[key] ?? 0) + 1;
    committedBefore = life.committed;
    countsBefore = life.counts;
  }
  for (const key of rules.keys) {
    const count = countsBefore[key] ?? 0;
    const allowed = 1 + (caughtInFlight[key] ?? 0);
    if (count !== allowed) {
      fail(
        `step ${key} ran ${count}x; expected exactly ${allowed} (once, plus ${allowed - 1} kill(s) that caught it in flight)`,
      );
    }
  }
}

function checkFinal(seed: number, final: FinalState, fail: (message: string) => void): void {
  const task = final.task;
  if (!task) {
    fail("the task row is missing");
    return;
  }
  if (task.status !== "completed") fail(`task status is ${task.status}, expected completed`);
  if (task.attempt !== 1) fail(`task attempt is ${task.attempt}, expected 1 (a crash is not a retry)`);
  const result = expectedResult(seed);
  if (task.status === "completed" && !isDeepStrictEqual(decode(task.result ?? "null"), result))
    fail(`task result ${task.result} differs from the expected ${JSON.stringify(result)}`);
  if (!isDeepStrictEqual(final.steps, [...STEP_KEYS]))
    fail(`checkpoints are [${final.steps}], expected [${STEP_KEYS}]`);

  const expected = [...expectedEvents(seed), { name: "completed", data: { result } }];
  const seqs = final.events.map((e) => e.seq);
  const contiguous = seqs.every((seq, i) => seq === i + 1);
  if (!contiguous) fail(`event seqs are [${seqs}], expected 1..${seqs.length} without gaps`);
  if (task.lastSeq !== final.events.length)
    fail(`task lastSeq is ${task.lastSeq} but the WAL holds ${final.events.length} events`);
  const seen = new Set<string>();
  for (const event of final.events) {
    const id = `${event.name} ${event.data}`;
    if (seen.has(id)) fail(`event seq ${event.seq} duplicates an earlier event: ${id}`);
    seen.add(id);
  }
  const terminals = final.events.filter((e) => ["completed", "failed", "cancelled"].includes(e.name));
  if (terminals.length !== 1 || final.events.at(-1) !== terminals[0])
    fail(`expected exactly one terminal event, last; found ${terminals.map((e) => `${e.seq}:${e.name}`)}`);
  const length = Math.max(expected.length, final.events.length);
  for (let i = 0; i < length; i++) {
    const want = expected[i];
    const got = final.events[i];
    const gotData = got ? decode(got.data) : undefined;
    if (!want || !got || want.name !== got.name || !isDeepStrictEqual(gotData, want.data)) {
      fail(
        `event #${i + 1}: got ${got ? `${got.name} ${got.data}` : "nothing"}, expected ${want ? `${want.name} ${JSON.stringify(want.data)}` : "nothing"} (lost, duplicated or reordered)`,
      );
      break;
    }
  }
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length <= of.length && prefix.every((value, i) => of[i] === value);
}
