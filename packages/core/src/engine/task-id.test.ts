import { describe, expect, it } from "vitest";
import { newTaskId } from "./task-id";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newTaskId", () => {
  it("is a UUIDv7 whose first 48 bits are the creation time in ms", () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const id = newTaskId(at);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(at);
  });

  it("is unique within one millisecond and sorts by time across milliseconds", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newTaskId(1_000)));
    expect(ids.size).toBe(10_000);
    const times = [1, 2, 255, 256, 4096, Date.now()];
    const sorted = times.map((t) => newTaskId(t));
    expect([...sorted].sort()).toEqual(sorted);
  });
});
