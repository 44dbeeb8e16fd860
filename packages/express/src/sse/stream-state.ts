import type { ServerResponse } from "node:http";
import type { InterruptCode } from "./stream-task-events";

/** Why a stream stopped before its terminal event. */
export type Stop = "disconnected" | InterruptCode;

/** Per-stream state: the stop reason, the abort signal for the subscription, and listener cleanup. */
export class StreamState {
  readonly controller = new AbortController();
  stop: Stop | undefined;
  lastSeq = 0;
  finished = false;
  draining = false;
  failure: unknown;
  readonly #res: ServerResponse;
  readonly #shutdown: AbortSignal | undefined;
  readonly #onClose = () => {
    if (!this.#res.writableFinished) this.halt("disconnected");
  };
  readonly #onShutdown = () => this.halt("server_shutting_down");

  constructor(res: ServerResponse, shutdown: AbortSignal | undefined) {
    this.#res = res;
    this.#shutdown = shutdown;
    res.on("close", this.#onClose);
    shutdown?.addEventListener("abort", this.#onShutdown);
    if (shutdown?.aborted) this.halt("server_shutting_down");
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  halt(why: Stop): void {
    this.stop ??= why;
    this.controller.abort();
  }

  /** Removes every listener this stream added to shared objects (the shutdown signal, the response). */
  dispose(): void {
    this.#shutdown?.removeEventListener("abort", this.#onShutdown);
    this.#res.off("close", this.#onClose);
  }
}
