import { describe, expect, it, onTestFinished } from "vitest";
import {
  emitted,
  type Kit,
  openKit,
  type Ring,
  ring,
  type Suite,
  T0,
  TERMINAL_DATA,
} from "./conformance.kit";

/** The errors this test's watchers threw, in order, and the `TaskwireWatcherError` warnings reporting them. */
function throwingWatcher(kit: Kit) {
  const thrown: Error[] = [];
  const warnings = ring<[Error]>(kit.ringTimeoutMs, "TaskwireWatcherError warning");
  const listener = (warning: Error) => {
    if (warning.name === "TaskwireWatcherError" && thrown.includes(warning.cause as Error))
      warnings.fn(warning);
  };
  process.on("warning", listener);
  onTestFinished(() => {
    process.off("warning", listener);
  });
  const fail = (): never => {
    const error = new Error(`watcher ${thrown.length + 1} of ${kit.ns} broke`);
    thrown.push(error);
    throw error;
  };
  return { thrown, warnings, fail };
}

/** Waits for a ring of `bell` after its first `seen` calls that is followed by a passing `check`. */
async function rungAfter(bell: Ring, seen: number, check: () => Promise<boolean>, kit: Kit, label: string) {
  const deadline = Date.now() + kit.ringTimeoutMs;
  for (let n = seen + 1; Date.now() < deadline; n++) {
    await bell.next(n);
    if (await check()) return;
  }
  throw new Error(`${label} did not happen within ${kit.ringTimeoutMs} ms`);
}

/** After the throwing watcher is unwatched: every throw was reported exactly once, in order. */
async function expectEachReportedOnce(watch: { thrown: Error[]; warnings: Ring<[Error]> }): Promise<void> {
  await watch.warnings.next(watch.thrown.length);
  expect(watch.warnings.calls.map(([warning]) => warning.cause)).toEqual(watch.thrown);
}

/** The rule on `TaskStore.watchEvents`: a throwing watcher is contained, stays registered and is reported. */
export function watchErrorsConformance(suite: Suite): void {
  describe("throwing watchers", () => {
    it("watchEvents: the writer and the other watchers are unaffected, the thrower is rung again, the error is reported", async () => {
      const kit = await openKit(suite);
      const { task, lease } = await kit.running();
      const broken = throwingWatcher(kit);
      const thrower = ring(kit.ringTimeoutMs, "throwing watcher");
      // Registered first, so a registry that stops at the first throw never reaches the second watcher.
      const unwatchThrower = kit.store.watchEvents(task.id, () => {
        thrower.fn();
        broken.fail();
      });
      const other = ring(kit.ringTimeoutMs, "second watcher");
      const unwatchOther = kit.store.watchEvents(task.id, other.fn);
      const readable = (n: number) => async () => (await kit.store.readEvents(task.id, 0, 10)).length === n;
      try {
        await kit.store.appendEvent(lease, emitted(0)); // resolves: the throw never reaches the writer
        await rungAfter(other, 0, readable(1), kit, "the second watcher rung after event 1");
        await rungAfter(thrower, 0, readable(1), kit, "the throwing watcher rung after event 1");
        const [throwerSeen, otherSeen] = [thrower.calls.length, other.calls.length];
        await kit.store.appendEvent(lease, emitted(1));
        await rungAfter(
          thrower,
          throwerSeen,
          readable(2),
          kit,
          "the throwing watcher rung again after event 2",
        );
        await rungAfter(other, otherSeen, readable(2), kit, "the second watcher rung after event 2");
      } finally {
        unwatchThrower();
        unwatchOther();
      }
      expect(broken.thrown.length).toBeGreaterThanOrEqual(2);
      await expectEachReportedOnce(broken);
    });

    it("watchCancels: the requester and the other watchers are unaffected, the thrower is called again, the error is reported", async () => {
      const kit = await openKit(suite);
      const ids = new Set<string>();
      const broken = throwingWatcher(kit);
      const thrower = ring<[string]>(kit.ringTimeoutMs, "throwing onCancel");
      const unwatchThrower = kit.store.watchCancels((taskId) => {
        if (!ids.has(taskId)) return; // a shared backing store may carry other tests' cancels
        thrower.fn(taskId);
        broken.fail();
      });
      const other = ring<[string]>(kit.ringTimeoutMs, "second onCancel");
      const unwatchOther = kit.store.watchCancels((taskId) => {
        if (ids.has(taskId)) other.fn(taskId);
      });
      try {
        for (let i = 1; i <= 2; i++) {
          const { task } = await kit.running();
          ids.add(task.id);
          const outcome = await kit.store.requestCancel(task.id, T0 + i, TERMINAL_DATA);
          expect(outcome.outcome).toBe("requested");
          expect(await other.next(i)).toEqual([task.id]);
          expect(await thrower.next(i)).toEqual([task.id]);
        }
      } finally {
        unwatchThrower();
        unwatchOther();
      }
      await expectEachReportedOnce(broken);
    });
  });
}
