import { describe, expect, it } from "vitest";
import { createFakeClock } from "./fake-clock";

describe("createFakeClock", () => {
  it("starts at a fixed time (or the one given) and stands still until advanced", async () => {
    expect(createFakeClock().now()).toBe(Date.UTC(2025, 0, 1));
    expect(createFakeClock(new Date(5000)).now()).toBe(5000);
    const clock = createFakeClock(1000);
    await clock.settle();
    expect(clock.now()).toBe(1000);
    await clock.advance(250);
    expect(clock.now()).toBe(1250);
    expect(() => createFakeClock(Number.NaN)).toThrow(TypeError);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
  });

  it("fires due timers in time order (ties in scheduling order), each seeing its own time", async () => {
    const clock = createFakeClock(0);
    const fired: Array<[string, number]> = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimer(at("c"), 300);
    clock.setTimer(at("a"), 100);
    clock.setTimer(at("b1"), 200);
    clock.setTimer(at("b2"), 200);
    clock.setTimer(at("late"), 1000);
    expect(clock.pending()).toBe(5);
    expect(clock.nextAt()).toBe(100);
    await clock.advance(300);
    expect(fired).toEqual([
      ["a", 100],
      ["b1", 200],
      ["b2", 200],
      ["c", 300],
    ]);
    expect(clock.now()).toBe(300);
    expect(clock.pending()).toBe(1);
    expect(clock.nextAt()).toBe(1000);
  });

  it("never fires a cancelled timer; cancelling twice is harmless", async () => {
    const clock = createFakeClock(0);
    let fired = 0;
    const cancel = clock.setTimer(() => fired++, 10);
    cancel();
    cancel();
    expect(clock.pending()).toBe(0);
    await clock.advance(100);
    expect(fired).toBe(0);
  });

  it("lets async work a timer started finish, and fires the timers that work scheduled in the same advance", async () => {
    const clock = createFakeClock(0);
    const log: string[] = [];
    // A retry loop as the engine writes it: wait, do async I/O, schedule the next wait.
    const attempt = async (n: number): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve)); // store I/O
      await Promise.resolve();
      log.push(`attempt ${n} at ${clock.now()}`);
      if (n < 3) clock.setTimer(() => void attempt(n + 1), 1000 * n);
    };
    clock.setTimer(() => void attempt(1), 500);
    await clock.advance(10_000);
    expect(log).toEqual(["attempt 1 at 500", "attempt 2 at 1500", "attempt 3 at 3500"]);
    expect(clock.now()).toBe(10_000);
  });

  it("does not fire a timer past the target, even one scheduled during the advance", async () => {
    const clock = createFakeClock(0);
    const fired: number[] = [];
    clock.setTimer(() => {
      fired.push(clock.now());
      clock.setTimer(() => fired.push(clock.now()), 100);
    }, 50);
    await clock.advance(100);
    expect(fired).toEqual([50]);
    await clock.advance(50);
    expect(fired).toEqual([50, 150]);
  });

  it("fires a zero-delay timer on its own (never synchronously), without an advance", async () => {
    const clock = createFakeClock(0);
    let fired = false;
    clock.setTimer(() => {
      fired = true;
    }, 0);
    expect(fired).toBe(false);
    await clock.settle();
    expect(fired).toBe(true);
    expect(clock.now()).toBe(0);
  });

  it("queues advances: the second starts where the first ended", async () => {
    const clock = createFakeClock(0);
    const fired: number[] = [];
    clock.setTimer(() => fired.push(clock.now()), 150);
    await Promise.all([clock.advance(100), clock.advance(100)]);
    expect(fired).toEqual([150]);
    expect(clock.now()).toBe(200);
  });

  it("next() jumps to the next timer and fires it; false when nothing is pending", async () => {
    const clock = createFakeClock(0);
    let fired = 0;
    clock.setTimer(() => fired++, 60_000);
    expect(await clock.next()).toBe(true);
    expect(clock.now()).toBe(60_000);
    expect(fired).toBe(1);
    expect(await clock.next()).toBe(false);
    expect(clock.now()).toBe(60_000);
  });

  it("sleep() resolves after fake time and rejects at once when its signal aborts", async () => {
    const clock = createFakeClock(0);
    let slept = false;
    const sleeping = clock.sleep(5 * 60_000).then(() => {
      slept = true;
    });
    await clock.advance(5 * 60_000 - 1);
    expect(slept).toBe(false);
    await clock.advance(1);
    await sleeping;
    expect(slept).toBe(true);

    const controller = new AbortController();
    const aborted = clock.sleep(1000, controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(aborted).rejects.toThrow("cancelled");
    expect(clock.pending()).toBe(0);
    await expect(clock.sleep(10, controller.signal)).rejects.toThrow("cancelled");
  });
});
