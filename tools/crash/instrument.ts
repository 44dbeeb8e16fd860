import { writeSync } from "node:fs";
import type { TaskStore } from "@taskwire/core";
import { REPORT_FD, type WorkerMessage } from "./protocol";

/** The child's side of the report protocol: points of interest, the kill point, and report lines. */
export interface Reporter {
  /** Reports a point; at the kill point with style `freeze`, blocks the process until the SIGKILL lands. */
  point(name: string): void;
  /** Writes one report line. */
  report(message: WorkerMessage): void;
  /** Names a task in points: `label` for tasks the body announced (`enter`), nothing for the pipeline. */
  label(taskId: string, label: string): void;
  /** `kind:label/detail` for a labelled task, `kind:detail` otherwise. */
  name(kind: string, taskId: string, detail: string): string;
}

/**
 * Creates the reporter for `killAt` (`any:7` = the 7th point, `body:2` = the 2nd point of kind `body`,
 * `=spawned:parent/spawn:crash.flow.child#1` = the first point with exactly that name, `none`). Lines are
 * written synchronously, so a line is out before the next instruction runs: the parent may SIGKILL us
 * right after reading it.
 */
export function createReporter(killAt: string, style: string): Reporter {
  const exact = killAt.startsWith("=") ? killAt.slice(1) : undefined;
  const [killKind = "none", killNth = "0"] = exact === undefined ? killAt.split(":") : ["=", "1"];
  const nthTarget = Number(killNth);
  const labels = new Map<string, string>();
  let points = 0;
  let exactHit = false;
  const perKind = new Map<string, number>();
  const report = (message: WorkerMessage) => writeSync(REPORT_FD, `${JSON.stringify(message)}\n`);
  return {
    report,
    label: (taskId, label) => labels.set(taskId, label),
    name(kind, taskId, detail) {
      const label = labels.get(taskId);
      return label === undefined ? `${kind}:${detail}` : `${kind}:${label}/${detail}`;
    },
    point(name) {
      points += 1;
      const kind = name.slice(0, name.indexOf(":"));
      const nth = (perKind.get(kind) ?? 0) + 1;
      perKind.set(kind, nth);
      let kill: boolean;
      if (exact !== undefined) {
        kill = !exactHit && name === exact;
        exactHit ||= kill;
      } else kill = killKind === "any" ? points === nthTarget : killKind === kind && nth === nthTarget;
      report({ type: "point", n: points, name, kill });
      if (kill && style === "freeze") {
        // Freeze the whole process here: no timer, heartbeat or queued commit runs before the SIGKILL.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
        process.exit(70); // the parent never killed us: fail loudly rather than continue past the point
      }
    },
  };
}

/**
 * Wraps the store so its durable writes are points of interest, just before the call and just after it
 * resolved (durable): checkpoints, events, settlements (`park`/`parked` for a `waiting` one, naming what
 * it waits for), spawns and signal deliveries.
 */
export function instrument(inner: TaskStore, r: Reporter): TaskStore {
  const around = async <T>(before: string, after: string, write: () => Promise<T>): Promise<T> => {
    r.point(before);
    const value = await write();
    r.point(after);
    return value;
  };
  const overrides: Partial<TaskStore> = {
    appendStep: (lease, step) =>
      around(
        r.name("step-append", lease.taskId, step.key),
        r.name("step-committed", lease.taskId, step.key),
        () => inner.appendStep(lease, step),
      ),
    appendEvent: (lease, event) =>
      around(
        r.name("event-append", lease.taskId, String(event.position)),
        r.name("event-committed", lease.taskId, String(event.position)),
        () => inner.appendEvent(lease, event),
      ),
    settleTask: (lease, settlement, now) => {
      const waiting = settlement.status === "waiting";
      const detail = waiting
        ? (settlement.wakeOn.signals ?? []).length > 0
          ? "signal"
          : "children"
        : settlement.status;
      return around(
        r.name(waiting ? "park" : "settle", lease.taskId, detail),
        r.name(waiting ? "parked" : "settled", lease.taskId, detail),
        () => inner.settleTask(lease, settlement, now),
      );
    },
    spawnChild: (lease, spawn) =>
      around(
        r.name("spawn", lease.taskId, spawn.step.key),
        r.name("spawned", lease.taskId, spawn.step.key),
        () => inner.spawnChild(lease, spawn),
      ),
    deliverSignal: (signal) =>
      around(`deliver:${signal.name}`, `delivered:${signal.name}`, () => inner.deliverSignal(signal)),
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (typeof prop === "string" && Object.hasOwn(overrides, prop))
        return overrides[prop as keyof TaskStore];
      const value = Reflect.get(target, prop, target);
      // The store keeps #private state: its methods must run with the real store as `this`.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
