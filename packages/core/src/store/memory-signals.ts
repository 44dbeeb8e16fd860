import type { NewSignal } from "./task-store";

interface SignalEntry {
  name: string;
  index: number;
  payload: string;
  idempotencyKey: string | undefined;
}

/** The memory store's delivered signals, per task in arrival order (what `readSignal` serves). */
export class SignalLog {
  #signals = new Map<string, SignalEntry[]>();

  /** The index of an earlier delivery with the same idempotency key, if any. */
  duplicateOf(signal: NewSignal): number | undefined {
    if (signal.idempotencyKey === undefined) return undefined;
    return this.#signals.get(signal.taskId)?.find((s) => s.idempotencyKey === signal.idempotencyKey)?.index;
  }

  /** Appends `signal`; returns its index among the task's signals of that name. */
  append(signal: NewSignal): number {
    const signals = this.#signals.get(signal.taskId) ?? [];
    const index = signals.filter((s) => s.name === signal.name).length;
    signals.push({
      name: signal.name,
      index,
      payload: signal.payload,
      idempotencyKey: signal.idempotencyKey,
    });
    this.#signals.set(signal.taskId, signals);
    return index;
  }

  /** The payload of the `index`-th signal `name` of a task. */
  read(taskId: string, name: string, index: number): string | undefined {
    return this.#signals.get(taskId)?.find((s) => s.name === name && s.index === index)?.payload;
  }

  /** Forgets a deleted task's signals. */
  delete(taskId: string): void {
    this.#signals.delete(taskId);
  }
}
