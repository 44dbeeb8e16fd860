import { describe, expect, it } from "vitest";
import type { StopRecord } from "./cluster";
import type { SignalRecord, StartRecord } from "./driver";
import type { LedgerEntry } from "./ledger";
import type { ClientReport } from "./sse-client";
import type { StoredState, StoredTask } from "./store-reader";
import {
  CHILD_TASK,
  childEmits,
  childResult,
  PARENT_TASK,
  PLAIN_TASK,
  parentEmits,
  parentResult,
  plainEmits,
  plainResult,
  planItems,
} from "./tasks";
import { verifyClients, verifyProbes } from "./verify-clients";
import { verifyLedger } from "./verify-ledger";
import { verifyTasks } from "./verify-tasks";

/** Synthetic runs fed to the verifiers: each rule must accept a correct run and name each breach. */

const PID = 100;
const KILLED = 200;
const at = (t: number) => 1_000_000 + t;

/** A correct plain task whose every step was committed by `PID` at t = 10, 20, …. */
function plainTask(id = "p1", steps = 2): StoredTask {
  const input = { n: 1, steps, ms: 5 };
  const result = plainResult(input);
  const events = [...plainEmits(input), { name: "completed", data: { result } }].map((e, i) => ({
    seq: i + 1,
    ...e,
  }));
  return {
    id,
    name: PLAIN_TASK,
    parentId: null,
    owner: "alice",
    status: "completed",
    input,
    result,
    lastSeq: events.length,
    steps: Array.from({ length: steps }, (_, i) => ({
      position: i,
      key: `work#${i}`,
      output: { pid: PID, value: result.values[i] },
      at: at(10 * (i + 1)),
    })),
    events,
  };
}

const line = (key: string, pid: number, t: number, taskId = "p1"): LedgerEntry => ({
  kind: "step",
  taskId,
  key,
  pid,
  at: at(t),
});
const kill = (pid: number, t: number): StopRecord => ({
  node: "node-1",
  pid,
  kind: "SIGKILL",
  at: at(t),
  exitedAt: at(t + 1),
  exit: { code: null, signal: "SIGKILL" },
});
const clean = [line("work#0", PID, 5), line("work#1", PID, 15)];

describe("verifyLedger", () => {
  const none = { stops: [], leaseLost: new Map() };

  it("accepts one run per step by the committing process", () => {
    expect(verifyLedger([plainTask()], clean, none).violations).toEqual([]);
  });

  it("excuses a run in flight in a process killed before the checkpoint committed", () => {
    const entries = [line("work#0", KILLED, 2), ...clean];
    const { violations, excuses } = verifyLedger([plainTask()], entries, {
      ...none,
      stops: [kill(KILLED, 3)],
    });
    expect(violations).toEqual([]);
    expect(excuses.inFlightAtStop).toBe(1);
  });

  it("names a completed step run again, even by a process killed later", () => {
    const live = verifyLedger([plainTask()], [...clean, line("work#0", PID, 30)], none).violations;
    expect(live).toEqual([
      expect.stringMatching(/step "work#0" ran again in pid 100 .* after its checkpoint/),
    ]);
    const killedLater = [...clean, line("work#1", KILLED, 25)];
    expect(
      verifyLedger([plainTask()], killedLater, { ...none, stops: [kill(KILLED, 40)] }).violations,
    ).toEqual([expect.stringMatching(/step "work#1" ran again in pid 200 .* after its checkpoint/)]);
  });

  it("excuses a run by a process that logged the task's lease as lost", () => {
    const entries = [...clean, line("work#1", KILLED, 25)];
    const leaseLost = new Map([[KILLED, new Set(["p1"])]]);
    expect(verifyLedger([plainTask()], entries, { stops: [], leaseLost }).excuses.leaseLost).toBe(1);
  });

  it("names a checkpoint whose committing process never ran the body", () => {
    expect(verifyLedger([plainTask()], [line("work#1", PID, 15)], none).violations).toEqual([
      expect.stringMatching(/"work#0" was committed by pid 100 .* wrote no ledger line/),
    ]);
  });
});

/** A client that saw the task's whole WAL over two connections. */
function client(task: StoredTask, frames = task.events): ClientReport {
  return {
    taskId: task.id,
    owner: task.owner,
    frames: frames.map((e, i) => ({ ...e, connection: i < 2 ? 1 : 2, node: "node-1" })),
    connections: 2,
    reconnects: 1,
    drops: 1,
    interrupted: 0,
    done: true,
    problems: [],
  };
}

describe("verifyClients", () => {
  const task = plainTask();
  const state: StoredState = { tasks: [task], signals: [] };

  it("accepts exactly the WAL across reconnects", () => {
    expect(verifyClients([client(task)], state)).toEqual([]);
  });

  it("names a gap, a duplicate, a changed payload and a missing terminal frame", () => {
    const [a, b, c, ...rest] = task.events;
    expect(verifyClients([client(task, [a!, c!, ...rest])], state)).toEqual([
      expect.stringContaining("a gap"),
    ]);
    expect(verifyClients([client(task, [a!, b!, b!, c!, ...rest])], state)).toEqual([
      expect.stringContaining("a duplicate"),
    ]);
    const changed = { ...b!, data: { i: 9, phase: "x" } };
    expect(verifyClients([client(task, [a!, changed, c!, ...rest])], state)).toEqual([
      expect.stringContaining('the WAL has progress {"i":0,"phase":"inside"}'),
    ]);
    const cut = { ...client(task, [a!, b!]), done: false };
    expect(verifyClients([cut], state)).toEqual([expect.stringContaining("never received a terminal frame")]);
  });

  it("names any answer but 404 to a non-owner, and a task listed to someone else", () => {
    const probes = { requests: 2, notFound: 1, networkErrors: 0, leaks: ["bob got 200"], listed: [] };
    expect(verifyProbes({ ...probes, listed: [{ user: "bob", taskIds: ["p1"] }] }, state)).toEqual([
      "non-owner: bob got 200",
      "non-owner: GET /api/tasks as bob listed p1 of alice",
    ]);
  });
});

/** A correct parent with one child, signalled once with `tok`. */
function flow(): { state: StoredState; starts: StartRecord[]; signals: SignalRecord[] } {
  const input = { n: 3, width: 1, ms: 5 };
  const item = planItems(3, 1)[0]!;
  const childInput = { i: 0, item, ms: 5 };
  const events = (list: Array<{ name: string; data: unknown }>) => list.map((e, i) => ({ seq: i + 1, ...e }));
  const cr = childResult(childInput);
  const child: StoredTask = {
    ...plainTask("c1"),
    name: CHILD_TASK,
    parentId: "f1",
    input: childInput,
    result: cr,
    steps: [],
    events: events([...childEmits(childInput), { name: "completed", data: { result: cr } }]),
    lastSeq: 5,
  };
  const pr = parentResult(input, "tok");
  const [planning, planned, spawned, joined, signalled] = parentEmits();
  const childEvent = (status: string) => ({
    name: "child",
    data: { taskId: "c1", task: CHILD_TASK, status },
  });
  const parentEvents = events([
    planning!,
    planned!,
    childEvent("queued"),
    spawned!,
    childEvent("completed"),
    joined!,
    signalled!,
    { name: "completed", data: { result: pr } },
  ]);
  const parent: StoredTask = {
    ...plainTask("f1"),
    name: PARENT_TASK,
    input,
    result: pr,
    steps: [{ position: 2, key: `spawn:${CHILD_TASK}#0`, output: "c1", at: at(1) }],
    events: parentEvents,
    lastSeq: parentEvents.length,
  };
  const ok = { status: 202, body: { index: 0, duplicate: false } };
  return {
    state: {
      tasks: [parent, child],
      signals: [{ taskId: "f1", name: "go", idx: 0, payload: { token: "tok" }, idempotencyKey: "k" }],
    },
    starts: [{ key: "s1", name: PARENT_TASK, owner: "alice", input, taskId: "f1" }],
    signals: [{ taskId: "f1", owner: "alice", key: "k", token: "tok", answers: [ok] }],
  };
}

describe("verifyTasks", () => {
  it("accepts a correct flow", () => {
    const { state, starts, signals } = flow();
    expect(verifyTasks(state, starts, signals)).toEqual([]);
  });

  it("names a child spawned twice, a signal stored twice, an event written twice and a stray start", () => {
    const { state, starts, signals } = flow();
    const [parent, child] = state.tasks as [StoredTask, StoredTask];
    const twin = { ...child, id: "c2" };
    expect(verifyTasks({ ...state, tasks: [parent, child, twin] }, starts, signals)).toEqual(
      expect.arrayContaining([expect.stringContaining("has 2 children, expected 1")]),
    );
    const second = { ...state.signals[0]!, idx: 1 };
    expect(verifyTasks({ ...state, signals: [...state.signals, second] }, starts, signals)).toEqual([
      expect.stringContaining("2 signals stored, expected exactly 1"),
    ]);
    const doubled = [...child.events.slice(0, 1), ...child.events].map((e, i) => ({ ...e, seq: i + 1 }));
    const dup = { ...child, events: doubled, lastSeq: doubled.length };
    expect(verifyTasks({ ...state, tasks: [parent, dup] }, starts, signals)).toEqual([
      expect.stringContaining("an event lost or written twice"),
    ]);
    const stray = { ...plainTask("p9"), owner: "bob" };
    expect(verifyTasks({ ...state, tasks: [...state.tasks, stray] }, starts, signals)).toEqual([
      expect.stringContaining("root task nobody started"),
    ]);
  });

  it("names a parent that did not consume the token it was sent", () => {
    const { state, starts, signals } = flow();
    const lost = signals.map((s) => ({ ...s, token: "other" }));
    expect(verifyTasks(state, starts, lost).join("\n")).toMatch(/completed with .*"token":"tok".*expected/);
  });
});
