import type { TaskStore } from "@taskwire/core/store";

/**
 * Where the process dies, named by the WAL write it is about:
 * - `before-step:<key>`: the step's body ran but its checkpoint never lands (the step was in flight);
 * - `after-step:<key>`: right after the checkpoint is durable;
 * - `before-event:<n>` / `after-event:<n>`: around the append of the n-th event the task emits (1-based; `child` and terminal events are not counted);
 * - `before-settle`: the body returned (or threw) but the settlement never lands.
 * A step key is `name#occurrence` (`render#0`); a bare `render` means `render#0`.
 */
export type CrashPoint =
  | `before-step:${string}`
  | `after-step:${string}`
  | `before-event:${number}`
  | `after-event:${number}`
  | "before-settle";

interface ParsedPoint {
  when: "before" | "after";
  what: "step" | "event" | "settle";
  key: string | number | undefined;
}

/** Parses a {@link CrashPoint}; throws a `TypeError` naming the accepted forms. */
export function parseCrashPoint(point: string): ParsedPoint {
  if (point === "before-settle") return { when: "before", what: "settle", key: undefined };
  const match = /^(before|after)-(step|event):(.+)$/.exec(point);
  if (match) {
    const [, when, what, rest = ""] = match;
    if (what === "step") {
      return { when: when as ParsedPoint["when"], what, key: rest.includes("#") ? rest : `${rest}#0` };
    }
    const seq = Number(rest);
    if (Number.isInteger(seq) && seq > 0)
      return { when: when as ParsedPoint["when"], what: "event", key: seq };
  }
  throw new TypeError(
    `Unknown crash point ${JSON.stringify(point)}: use before-step:<key>, after-step:<key>, ` +
      "before-event:<seq>, after-event:<seq> or before-settle.",
  );
}

/** A store that dies at a crash point, and how to observe the death. */
export interface DyingStore {
  /** Use this one for the doomed taskflow. */
  readonly store: TaskStore;
  /** Resolves when the crash point was reached. */
  readonly dead: Promise<void>;
  readonly isDead: () => boolean;
}

const NEVER = new Promise<never>(() => {});

/**
 * Wraps `inner` so that, from the crash point on, no call ever resolves and no watcher is called again:
 * what a SIGKILLed process looks like from the storage (its writes never land, it never lets go of a
 * lease). Writes before the point land normally; an `after-…` point lets its own write land first.
 * `open` and `close` pass through to nothing: the caller owns the real store's lifetime.
 */
export function dyingStore(inner: TaskStore, point: CrashPoint): DyingStore {
  const parsed = parseCrashPoint(point);
  let dead = false;
  let onDeath: () => void = () => {};
  const death = new Promise<void>((resolve) => {
    onDeath = resolve;
  });
  const die = (): Promise<never> => {
    dead = true;
    onDeath();
    return NEVER;
  };
  const at = async <T>(matches: boolean, write: () => Promise<T>): Promise<T> => {
    if (dead) return NEVER;
    if (!matches) return write();
    if (parsed.when === "before") return die();
    await write();
    return die();
  };

  const store = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      switch (prop) {
        case "open":
        case "close":
          return () => Promise.resolve();
        case "appendStep": {
          const appendStep: TaskStore["appendStep"] = (lease, step) =>
            at(parsed.what === "step" && step.key === parsed.key, () => target.appendStep(lease, step));
          return appendStep;
        }
        case "appendEvent": {
          const appendEvent: TaskStore["appendEvent"] = (lease, event) =>
            at(parsed.what === "event" && event.position + 1 === parsed.key, () =>
              target.appendEvent(lease, event),
            );
          return appendEvent;
        }
        case "settleTask": {
          const settleTask: TaskStore["settleTask"] = (lease, settlement, now) =>
            at(parsed.what === "settle", () => target.settleTask(lease, settlement, now));
          return settleTask;
        }
        case "watchEvents":
        case "watchCancels":
          // A dead process hears nothing: its watchers stay registered but are never called again.
          return (...args: unknown[]) => {
            if (dead) return () => {};
            const callback = args.at(-1) as (...a: unknown[]) => void;
            const guarded = (...a: unknown[]) => {
              if (!dead) callback(...a);
            };
            return (value as (...a: unknown[]) => () => void).apply(target, [...args.slice(0, -1), guarded]);
          };
        default:
          return (...args: unknown[]) =>
            dead ? NEVER : (value as (...a: unknown[]) => unknown).apply(target, args);
      }
    },
  });
  return { store, dead: death, isDead: () => dead };
}
