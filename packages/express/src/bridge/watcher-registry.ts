import { isTerminalStatus, type Taskflow } from "@taskwire/core";
import type { Logger } from "pino";
import type { StreamResult } from "../sse/stream-task-events";

/** How a watcher of a task stopped watching. */
type DetachReason = "terminal" | "gone" | "shutdown";

/**
 * Ends one watch with the result of its stream (`undefined` when the stream never ran); idempotent.
 * A delivered terminal event drops the cancel policy, a shutdown hands the task back, anything else
 * counts as a client gone.
 */
export type Detach = (result: StreamResult | undefined) => void;

/** The one mapping from how a stream ended to how its watcher stopped watching. */
function detachReason(result: StreamResult | undefined): DetachReason {
  if (result?.outcome === "completed" || result?.outcome === "already_finished") return "terminal";
  if (result?.code === "server_shutting_down") return "shutdown";
  return "gone";
}

/** A cancel-on-disconnect policy, registered by `executeTask`. */
export interface CancelPolicy {
  graceMs: number;
  /** Runs `fn` as the task's owner, so the cancel passes core's owner check. */
  asOwner: <T>(fn: () => Promise<T>) => Promise<T>;
}

interface Entry {
  watchers: number;
  policy: CancelPolicy | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Per-process registry of open streams per task and their cancel-on-disconnect policies. A task with
 * a policy is cancelled `graceMs` after its last watcher went away, unless a new stream attached in the
 * meantime (a reconnect) or the task finished. Streams in other processes are not seen: the grace is
 * per process, by design (reconnects normally return to the same node through sticky routing, and a
 * reconnect elsewhere still replays the cancelled task's terminal event).
 */
export class WatcherRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #taskflow: Taskflow;
  readonly #logger: Logger;
  #closed = false;

  constructor(taskflow: Taskflow, logger: Logger) {
    this.#taskflow = taskflow;
    this.#logger = logger;
  }

  /** Sets the cancel-on-disconnect policy of a task (the latest `executeTask` call wins). */
  protect(taskId: string, policy: CancelPolicy): void {
    this.#entry(taskId).policy = policy;
  }

  /**
   * Counts a watcher of the task (an open stream, or a request that started the task and is about to
   * stream it); a pending cancel is called off. Returns its {@link Detach}.
   */
  attach(taskId: string): Detach {
    const entry = this.#entry(taskId);
    entry.watchers += 1;
    if (entry.timer) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      this.#logger.info(
        { event: "task.cancel_unscheduled", taskId },
        "client reconnected; cancel called off",
      );
    }
    let detached = false;
    return (result) => {
      if (detached) return;
      detached = true;
      this.#detach(taskId, entry, detachReason(result));
    };
  }

  /** Cancels every pending timer; no cancel fires after this (shutdown hands tasks back instead). */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) if (entry.timer) clearTimeout(entry.timer);
    this.#entries.clear();
  }

  /** Counts for tests and health endpoints (`watchers` counts every attached watch, not sockets). */
  stats(): { watchedTasks: number; watchers: number; pendingCancels: number } {
    let watchers = 0;
    let pendingCancels = 0;
    for (const entry of this.#entries.values()) {
      watchers += entry.watchers;
      if (entry.timer) pendingCancels += 1;
    }
    return { watchedTasks: this.#entries.size, watchers, pendingCancels };
  }

  #entry(taskId: string): Entry {
    let entry = this.#entries.get(taskId);
    if (!entry) {
      entry = { watchers: 0, policy: undefined, timer: undefined };
      this.#entries.set(taskId, entry);
    }
    return entry;
  }

  #detach(taskId: string, entry: Entry, reason: DetachReason): void {
    entry.watchers -= 1;
    if (reason === "terminal") entry.policy = undefined;
    if (entry.watchers > 0 || this.#closed) return;
    const policy = entry.policy;
    if (!policy || reason === "shutdown") {
      if (!entry.timer) this.#entries.delete(taskId);
      return;
    }
    if (entry.timer) return;
    this.#logger.info(
      { event: "task.cancel_scheduled", taskId, graceMs: policy.graceMs },
      "last client gone; cancel scheduled after the grace",
    );
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.watchers > 0) return;
      this.#entries.delete(taskId);
      void this.#cancel(taskId, policy);
    }, policy.graceMs);
    // A pending cancel must not keep a stopping process alive; shutdown clears it anyway.
    entry.timer.unref();
  }

  async #cancel(taskId: string, policy: CancelPolicy): Promise<void> {
    try {
      await policy.asOwner(async () => {
        const snapshot = await this.#taskflow.get(taskId);
        if (isTerminalStatus(snapshot.status)) {
          this.#logger.info(
            { event: "task.cancel_skipped", taskId, status: snapshot.status },
            "task already finished; not cancelled",
          );
          return;
        }
        const result = await this.#taskflow.cancel(taskId);
        this.#logger.info(
          { event: "task.cancel_on_disconnect_requested", taskId, outcome: result.outcome },
          "no client came back within the grace; task cancelled",
        );
      });
    } catch (error) {
      this.#logger.warn(
        { event: "task.cancel_failed", taskId, err: error },
        "cancel after disconnect failed",
      );
    }
  }
}
