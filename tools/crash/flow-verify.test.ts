import { encode } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { signalFor } from "./flow-harness";
import type { FlowTaskState } from "./flow-state";
import {
  CHILD_CHECKPOINTS,
  childEmits,
  childLabel,
  childResult,
  FLOW_CHILD,
  FLOW_PARENT,
  flowBodyKeys,
  parentCheckpoints,
  parentResult,
  planItems,
} from "./flow-tasks";
import { type FlowRunFacts, verifyFlowRun } from "./flow-verify";
import type { LifeReport } from "./harness";

/** The flow checker must catch what the flow harness exists to catch; these runs are synthetic. */
const SEED = 5;
const WIDTH = 2;
const { token, idempotencyKey } = signalFor(SEED);
const KIDS = ["c0", "c1"];

type Event = { name: string; data: unknown };
const wal = (events: Event[]) => events.map((e, i) => ({ seq: i + 1, name: e.name, data: encode(e.data) }));
const bridge = (i: number, status: string): Event => ({
  name: "child",
  data: { taskId: KIDS[i], task: FLOW_CHILD, status },
});
const stage = (name: string): Event => ({ name: "stage", data: { name } });

function child(i: number): FlowTaskState {
  const result = childResult(SEED, WIDTH, i);
  return {
    id: KIDS[i] ?? "",
    name: FLOW_CHILD,
    label: childLabel(i),
    parentId: "p",
    status: "completed",
    input: encode({ i, item: planItems(SEED, WIDTH)[i] }),
    result: encode(result),
    attempt: 1,
    lastSeq: 5,
    emits: 4,
    steps: CHILD_CHECKPOINTS.map((key, position) => ({ position, key, output: encode(position) })),
    events: wal([...childEmits(i), { name: "completed", data: { result } }]),
  };
}

/** One life that ran the whole flow, the signal delivered once while it ran. */
function goodFlow(): FlowRunFacts {
  const result = { ...parentResult(SEED, WIDTH, token), childIds: KIDS };
  const outputs: Record<string, unknown> = {
    [`spawn:${FLOW_CHILD}#0`]: "c0",
    [`spawn:${FLOW_CHILD}#1`]: "c1",
    "signal:go#0": { payload: { token }, index: 0 },
  };
  const parent: FlowTaskState = {
    id: "p",
    name: FLOW_PARENT,
    label: "parent",
    parentId: null,
    status: "completed",
    input: encode({ seed: SEED, width: WIDTH, signal: true }),
    result: encode(result),
    attempt: 1,
    lastSeq: 10,
    emits: 5,
    steps: parentCheckpoints(WIDTH, true).map((key, position) => ({
      position,
      key,
      output: encode(outputs[key] ?? null),
    })),
    events: wal([
      stage("planning"),
      stage("planned"),
      bridge(0, "queued"),
      bridge(1, "queued"),
      stage("spawned"),
      bridge(1, "completed"),
      bridge(0, "completed"),
      stage("joined"),
      stage("signalled"),
      { name: "completed", data: { result } },
    ]),
  };
  const tasks = [parent, child(0), child(1)];
  const life: LifeReport = {
    mode: "start",
    killAt: "none",
    style: "freeze",
    delayMs: 0,
    killed: false,
    timedOut: false,
    exitCode: 0,
    signal: null,
    started: { taskId: "p", created: true },
    terminal: "completed",
    points: [],
    stderr: "",
    taskIds: ["p"],
    committed: tasks.flatMap((t) => t.steps.map((s) => `${t.label}/${s.key}`)),
    counts: Object.fromEntries(flowBodyKeys(WIDTH, true).map((k) => [k, 1])),
  };
  const delivery = {
    ...life,
    started: undefined,
    terminal: undefined,
    signalled: { index: 0, duplicate: false },
    when: "during" as const,
    life: 1,
  };
  return {
    seed: SEED,
    plan: { workload: "flow", width: WIDTH, lives: [life] },
    lives: [life],
    deliveries: [delivery],
    final: {
      tasks,
      signals: [{ taskId: "p", name: "go", idx: 0, payload: encode({ token }), idempotencyKey }],
    },
    token,
    idempotencyKey,
  };
}

const check = (facts: FlowRunFacts) => verifyFlowRun(facts).join("\n");

describe("verifyFlowRun", () => {
  it("accepts a correct flow run", () => {
    expect(verifyFlowRun(goodFlow())).toEqual([]);
  });

  it("flags a duplicate child and a child no spawn checkpoint recorded", () => {
    const facts = goodFlow();
    facts.final.tasks.push({ ...child(1), id: "c1-again" });
    const violations = check(facts);
    expect(violations).toContain("the parent has 3 children, expected exactly 2");
    expect(violations).toContain("expected exactly one child1, found 2");
  });

  it("flags a completed step that ran again", () => {
    const facts = goodFlow();
    facts.lives[0]!.counts["child0/work#1"] = 2;
    expect(check(facts)).toContain("step child0/work#1 ran 2x within one life");
  });

  it("flags a lost or doubled child event and a gap in a child's stream", () => {
    const lost = goodFlow();
    const parent = lost.final.tasks[0]!;
    parent.events = parent.events.filter(
      (e) => !(e.name === "child" && e.data.includes('"c1"') && e.data.includes("completed")),
    );
    parent.events.forEach((e, i) => {
      e.seq = i + 1;
    });
    parent.lastSeq = parent.events.length;
    expect(check(lost)).toContain(
      "parent child events for child1 are [queued], expected [queued, completed]",
    );

    const doubled = goodFlow();
    const events = doubled.final.tasks[0]!.events;
    events.splice(3, 0, { ...events[2]!, seq: 0 });
    events.forEach((e, i) => {
      e.seq = i + 1;
    });
    doubled.final.tasks[0]!.lastSeq = events.length;
    expect(check(doubled)).toContain("parent child events for child0 are [queued,queued,completed]");

    const gapped = goodFlow();
    gapped.final.tasks[1]!.events[2]!.seq = 7;
    expect(check(gapped)).toContain("child0 event seqs are [1,2,7,4,5]");
  });

  it("flags a lost, doubled or altered signal and a wrong duplicate answer", () => {
    const lost = goodFlow();
    lost.final.signals = [];
    expect(check(lost)).toContain("the parent has 0 recorded signals, expected exactly 1");

    const doubled = goodFlow();
    doubled.final.signals.push({ ...doubled.final.signals[0]!, idx: 1, idempotencyKey: null });
    expect(check(doubled)).toContain("the parent has 2 recorded signals");

    const altered = goodFlow();
    altered.final.tasks[0]!.steps.find((s) => s.key === "signal:go#0")!.output = encode({
      payload: { token: "x" },
      index: 0,
    });
    expect(check(altered)).toContain("the parent consumed");

    // A re-delivery after a delivery that committed must be answered as a duplicate.
    const redelivered = goodFlow();
    const first = redelivered.deliveries[0]!;
    redelivered.deliveries = [first, { ...first, signalled: { index: 0, duplicate: false } }];
    expect(check(redelivered)).toContain("signal delivery 2 answered");
  });
});
