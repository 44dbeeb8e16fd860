import { describe, expect, it } from "vitest";
import { globalSlot } from "./global-slot";

describe("globalSlot", () => {
  it("creates the value once per key and keeps it on globalThis under Symbol.for(key)", () => {
    const key = `taskwire.test.${Math.random()}`;
    let created = 0;
    const first = globalSlot(key, () => ({ n: ++created }));
    const second = globalSlot(key, () => ({ n: ++created }));
    expect(second).toBe(first);
    expect(created).toBe(1);
    // What another copy of the module (its own `globalSlot`) finds: the same object.
    expect((globalThis as Record<symbol, unknown>)[Symbol.for(key)]).toBe(first);
    expect(Object.keys(globalThis)).not.toContain(key);
  });
});
