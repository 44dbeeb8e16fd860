import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { LocalDoorbells, reportWatcherError } from "./local-doorbells";

/** Resolves after the registry's delivery tick (it delivers on `setImmediate`). */
const delivered = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Collects process warnings until the test finishes. */
function collectWarnings(): Error[] {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on("warning", listener);
  onTestFinished(() => {
    process.off("warning", listener);
  });
  return warnings;
}

describe("LocalDoorbells", () => {
  it("delivers on a later tick, coalesced per task, to the watchers of that task only", async () => {
    const bells = new LocalDoorbells();
    const a = vi.fn();
    const b = vi.fn();
    bells.watchEvents("a", a);
    bells.watchEvents("b", b);
    bells.ringEvents("a");
    bells.ringEvents("a");
    bells.ringEvents("unwatched");
    expect(a).not.toHaveBeenCalled(); // never inside the writer's call
    await delivered();
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).not.toHaveBeenCalled();
    bells.ringAllEvents();
    await delivered();
    expect([a.mock.calls.length, b.mock.calls.length]).toEqual([2, 1]);
  });

  it("calls each watcher in the async context it was registered in, not the writer's", async () => {
    const bells = new LocalDoorbells();
    const als = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    als.run("watcher", () => {
      bells.watchEvents("t", () => seen.push(als.getStore()));
      bells.watchCancels(() => seen.push(als.getStore()));
    });
    als.run("writer", () => {
      bells.ringEvents("t");
      bells.cancelRequested("t");
    });
    await delivered();
    expect(seen).toEqual(["watcher", "watcher"]);
  });

  it("contains a throwing watcher: the others are called, it stays registered, each throw is reported once", async () => {
    const errors: unknown[] = [];
    const bells = new LocalDoorbells({ onWatcherError: (error) => errors.push(error) });
    const boom = new Error("boom");
    const thrower = vi.fn(() => {
      throw boom;
    });
    const other = vi.fn();
    const cancelThrower = vi.fn(() => {
      throw boom;
    });
    const cancelOther = vi.fn();
    bells.watchEvents("t", thrower);
    bells.watchEvents("t", other);
    bells.watchCancels(cancelThrower);
    bells.watchCancels(cancelOther);
    for (let round = 1; round <= 2; round++) {
      expect(() => bells.ringEvents("t")).not.toThrow();
      expect(() => bells.cancelRequested("t")).not.toThrow();
      await delivered();
      expect([thrower, other, cancelThrower].map((fn) => fn.mock.calls.length)).toEqual([
        round,
        round,
        round,
      ]);
      expect(cancelOther).toHaveBeenLastCalledWith("t");
      expect(errors).toEqual(Array(2 * round).fill(boom));
    }
  });

  it("reports by default as a TaskwireWatcherError process warning whose cause is the thrown value", async () => {
    const warnings = collectWarnings();
    const boom = new Error("boom");
    reportWatcherError(boom);
    await vi.waitFor(() => expect(warnings.some((w) => w.cause === boom)).toBe(true));
    const warning = warnings.find((w) => w.cause === boom);
    expect(warning?.name).toBe("TaskwireWatcherError");
    expect(warning?.message).toContain("Error: boom");
  });

  it("never calls a watcher after its unwatch, even one removed earlier in the same delivery", async () => {
    const bells = new LocalDoorbells();
    const second = vi.fn();
    let unwatchSecond = () => {};
    const unwatchFirst = bells.watchEvents("t", () => unwatchSecond());
    unwatchSecond = bells.watchEvents("t", second);
    bells.ringEvents("t");
    await delivered();
    expect(second).not.toHaveBeenCalled();
    unwatchFirst();
    unwatchFirst(); // idempotent
    expect(bells.hasEventWatchers()).toBe(false);
    expect(bells.watchedTaskIds()).toEqual([]);
  });

  it("close() drops watchers and pending rings; the registry stays usable", async () => {
    const bells = new LocalDoorbells();
    const before = vi.fn();
    bells.watchEvents("t", before);
    bells.watchCancels(before);
    bells.ringEvents("t");
    bells.close();
    await delivered();
    expect(before).not.toHaveBeenCalled();
    expect([bells.hasEventWatchers(), bells.hasCancelWatchers()]).toEqual([false, false]);
    const after = vi.fn();
    bells.watchEvents("t", after);
    bells.ringEvents("t");
    await delivered();
    expect(after).toHaveBeenCalledTimes(1);
  });

  it("falls back to the default report when the error hook throws, and still calls every watcher", async () => {
    const warnings = collectWarnings();
    const bells = new LocalDoorbells({
      onWatcherError: () => {
        throw new Error("hook broke");
      },
    });
    const boom = new Error("watcher broke");
    const second = vi.fn();
    bells.watchEvents("t", () => {
      throw boom;
    });
    bells.watchEvents("t", second);
    bells.ringEvents("t");
    await vi.waitFor(() => expect(warnings.map((w) => w.cause)).toContain(boom));
    expect(second).toHaveBeenCalledTimes(1);
  });
});
