import { describe, expect, it } from "vitest";
import { decodePayload, encodePayloads, MAX_PAYLOAD_BYTES, Notifier } from "./notifier";

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("encodePayloads / decodePayload", () => {
  it("joins ids with commas, every payload strictly below PostgreSQL's 8000-byte limit, and round-trips", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuid(i));
    const payloads = encodePayloads(ids);
    expect(payloads.length).toBe(Math.ceil(1000 / Math.floor((MAX_PAYLOAD_BYTES + 1) / 37)));
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    expect(payloads.flatMap((p) => decodePayload(p).ids)).toEqual(ids);
  });

  it("escapes separators and percent signs inside ids; a plain single id decodes to itself", () => {
    const ids = ["a,b", "100%", "%2C", "%25,", "a|b", "%7C", "plain", "ü,€"];
    const payloads = encodePayloads(ids);
    expect(payloads).toHaveLength(1);
    expect(decodePayload(payloads[0]!)).toEqual({ origin: undefined, ids });
    expect(decodePayload("7c0e7d5e-task")).toEqual({ origin: undefined, ids: ["7c0e7d5e-task"] });
  });

  it("prefixes every payload with the origin tag, within the byte budget", () => {
    const ids = Array.from({ length: 500 }, (_, i) => uuid(i));
    const payloads = encodePayloads(ids, MAX_PAYLOAD_BYTES, "a1b2c3|");
    expect(payloads.length).toBeGreaterThan(2);
    for (const p of payloads) {
      expect(p.startsWith("a1b2c3|")).toBe(true);
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      expect(decodePayload(p).origin).toBe("a1b2c3");
    }
    expect(payloads.flatMap((p) => decodePayload(p).ids)).toEqual(ids);
  });

  it("measures bytes, not characters, and leaves out an id too long for any payload", () => {
    const wide = "€".repeat(1000); // 3000 bytes
    const payloads = encodePayloads([wide, wide, wide, "x".repeat(MAX_PAYLOAD_BYTES + 1), "short"]);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(payloads.flatMap((p) => decodePayload(p).ids)).toEqual([wide, wide, wide, "short"]);
    expect(encodePayloads(["x".repeat(MAX_PAYLOAD_BYTES)])).toEqual(["x".repeat(MAX_PAYLOAD_BYTES)]);
  });
});

describe("Notifier", () => {
  function harness(fail = () => false, origin?: string) {
    const sends: Array<{ channels: string[]; payloads: string[] }> = [];
    const errors: number[] = [];
    let release: (() => void) | undefined;
    let hold = false;
    const notifier = new Notifier({
      send: async (channels, payloads) => {
        sends.push({ channels, payloads });
        if (hold) await new Promise<void>((resolve) => (release = resolve));
        if (fail()) throw new Error("connection lost");
      },
      onError: (_error, ids) => errors.push(ids),
      origin,
    });
    return {
      notifier,
      sends,
      errors,
      holdNext: () => (hold = true),
      release: () => {
        hold = false;
        release?.();
      },
    };
  }

  it("coalesces the ids touched in one tick into one statement, one payload per channel", async () => {
    const { notifier, sends } = harness(undefined, "me");
    notifier.add("s_events", "a");
    notifier.add("s_events", "b");
    notifier.add("s_events", "a");
    notifier.add("s_cancels", "c");
    expect(sends).toHaveLength(0); // never inside the writer's call
    await tick();
    expect(sends).toEqual([{ channels: ["s_events", "s_cancels"], payloads: ["me|a,b", "me|c"] }]);
  });

  it("keeps at most one send in flight; ids touched meanwhile ride the next one", async () => {
    const h = harness();
    h.holdNext();
    h.notifier.add("ch", "a");
    await tick();
    h.notifier.add("ch", "b");
    h.notifier.add("ch", "c");
    await tick();
    expect(h.sends).toHaveLength(1);
    h.release();
    await tick();
    await tick();
    expect(h.sends.map((s) => s.payloads)).toEqual([["a"], ["b,c"]]);
  });

  it("retries a failed send with backoff, and close() flushes what is pending", async () => {
    let failing = true;
    const h = harness(() => failing);
    h.notifier.add("ch", "a");
    await tick();
    expect(h.errors).toEqual([1]);
    failing = false;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.sends.map((s) => s.payloads)).toEqual([["a"], ["a"]]);
    h.notifier.add("ch", "b");
    await h.notifier.close(); // before the scheduled tick
    expect(h.sends.at(-1)?.payloads).toEqual(["b"]);
    h.notifier.add("ch", "late");
    await tick();
    expect(h.sends.at(-1)?.payloads).toEqual(["b"]);
  });
});
