import { describe, expect, expectTypeOf, it } from "vitest";
import {
  ACTIVE_STATUSES,
  isTerminalEventName,
  isTerminalStatus,
  TaskStatus,
  TERMINAL_STATUSES,
  type TerminalEventName,
} from "./task-store";

describe("terminal statuses and events", () => {
  it("splits every status into active or terminal, and names the terminal events after them", () => {
    const all = Object.values(TaskStatus);
    expect([...ACTIVE_STATUSES, ...TERMINAL_STATUSES].sort()).toEqual([...all].sort());
    expect(all.filter((s) => isTerminalStatus(s))).toEqual(["completed", "failed", "cancelled"]);
    expect(
      ["progress", "ready", "child", "completed", "failed", "cancelled"].filter(isTerminalEventName),
    ).toEqual(["completed", "failed", "cancelled"]);
    expect(Object.isFrozen(TERMINAL_STATUSES) && Object.isFrozen(ACTIVE_STATUSES)).toBe(true);
  });

  it("narrows an event name", () => {
    const name: string = "failed";
    if (isTerminalEventName(name)) expectTypeOf(name).toEqualTypeOf<TerminalEventName>();
  });
});
