import { encode } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import type { FinalState, LifeReport } from "./harness";
import { expectedEvents, expectedResult, STEP_KEYS } from "./pipeline-task";
import { verifyRun } from "./verify";

/** The checker must catch what the harness exists to catch; these runs are synthetic. */
const SEED = 7;
const ALL = [...STEP_KEYS];

function life(overrides: Partial<LifeReport>): LifeReport {
  return {
    mode: "resume",
    killAt: "none",
    style: "freeze",
    delayMs: 0,
    killed: false,
    timedOut: false,
    exitCode: 0,
    signal: null,
    terminal: "completed",
    points: [],
    stderr: "",
    taskIds: ["t1"],
    committed: ALL,
    counts: Object.fromEntries(ALL.map((k) => [k, 1])),
    ...overrides,
  };
}

/** Life 1 is killed inside chunk#2's body; life 2 re-runs chunk#2 (allowed) and finishes. */
function goodRun(): { lives: LifeReport[]; final: FinalState } {
  const first = life({
    mode: "start",
    killAt: "body:3",
    killed: true,
    exitCode: null,
    signal: "SIGKILL",
    terminal: undefined,
    started: { taskId: "t1", created: true },
    committed: ["chunk#0", "chunk#1"],
    counts: { "chunk#0": 1, "chunk#1": 1, "chunk#2": 1 },
  });
  const second = life({ counts: { ...life({}).counts, "chunk#2": 2 } });
  const result = expectedResult(SEED);
  const events = [...expectedEvents(SEED), { name: "completed", data: { result } }].map((e, i) => ({
    seq: i + 1,
    name: e.name,
    data: encode(e.data),
  }));
  const final: FinalState = {
    task: { status: "completed", result: encode(result), attempt: 1, lastSeq: events.length, claims: 2 },
    events,
    steps: ALL,
  };
  return { lives: [first, second], final };
}

describe("verifyRun", () => {
  it("accepts a run where only the step in flight at the kill ran twice", () => {
    const { lives, final } = goodRun();
    expect(verifyRun(SEED, lives, final)).toEqual([]);
  });

  it("flags a completed step that ran again", () => {
    const { lives, final } = goodRun();
    lives[1]!.counts["chunk#0"] = 2;
    expect(verifyRun(SEED, lives, final).join("\n")).toContain(
      "step chunk#0 ran 1x although its checkpoint had committed",
    );
  });

  it("flags a lost, a duplicated and a gapped event", () => {
    const lost = goodRun();
    lost.final.events.splice(3, 1);
    lost.final.events.forEach((e, i) => {
      e.seq = i + 1;
    });
    lost.final.task!.lastSeq = lost.final.events.length;
    expect(verifyRun(SEED, lost.lives, lost.final).join("\n")).toContain("event #4");

    const duplicated = goodRun();
    const copy = { ...duplicated.final.events[2]!, seq: 3 };
    duplicated.final.events.splice(3, 0, copy);
    duplicated.final.events.forEach((e, i) => {
      e.seq = i + 1;
    });
    expect(verifyRun(SEED, duplicated.lives, duplicated.final).join("\n")).toContain("duplicates");

    const gapped = goodRun();
    gapped.final.events[5]!.seq = 99;
    expect(verifyRun(SEED, gapped.lives, gapped.final).join("\n")).toContain("without gaps");
  });

  it("flags a second task row, a missing terminal state and a retried attempt", () => {
    const { lives, final } = goodRun();
    lives[1]!.taskIds = ["t1", "t2"];
    lives[1]!.terminal = undefined;
    final.task!.attempt = 2;
    const violations = verifyRun(SEED, lives, final).join("\n");
    expect(violations).toContain("exactly one task row");
    expect(violations).toContain("terminal");
    expect(violations).toContain("attempt is 2");
  });
});
