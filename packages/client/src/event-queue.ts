/**
 * The hand-off between a subscription's reader and its one iterator: events in seq order, an end (with
 * or without an error), and back-pressure — past `highWaterMark` unread events the reader waits, stops
 * reading the body, and TCP pushes back on the server (which may interrupt the stream as a slow consumer;
 * the subscription then resumes from the WAL without losing anything).
 */
export class EventQueue<E> {
  readonly #items: E[] = [];
  readonly #highWaterMark: number;
  #ended = false;
  /** Thrown by `next()` at once (dropping what is queued): an abort, a close, a fatal error. */
  #error: unknown;
  #hasError = false;
  #attached = false;
  #wake: (() => void) | undefined;
  #space: (() => void) | undefined;

  constructor(highWaterMark = 64) {
    this.#highWaterMark = highWaterMark;
  }

  push(item: E): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake?.();
  }

  /** Ends the queue: with `error`, the iterator throws it at once; without, it drains then finishes. */
  end(...error: [] | [unknown]): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error.length > 0) {
      this.#hasError = true;
      this.#error = error[0];
      this.#items.length = 0;
    }
    this.#wake?.();
    this.#space?.();
  }

  /** Resolves once an attached iterator has room (at once when nobody iterates or the queue ended). */
  async space(): Promise<void> {
    while (this.#attached && !this.#ended && this.#items.length >= this.#highWaterMark)
      await new Promise<void>((resolve) => {
        this.#space = resolve;
      });
    this.#space = undefined;
  }

  /** The one iterator; `onReturn` runs when the consumer stops early (`break`). */
  iterator(onReturn: () => void): AsyncIterator<E> {
    if (this.#attached) throw new TypeError("A task subscription can be iterated only once.");
    this.#attached = true;
    return {
      next: async (): Promise<IteratorResult<E>> => {
        for (;;) {
          if (this.#hasError) throw this.#error;
          const item = this.#items.shift();
          if (this.#items.length < this.#highWaterMark / 2) this.#space?.();
          if (item !== undefined) return { done: false, value: item };
          if (this.#ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<E>> => {
        onReturn();
        this.#items.length = 0;
        return { done: true, value: undefined };
      },
    };
  }
}
