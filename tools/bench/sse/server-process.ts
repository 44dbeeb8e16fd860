import { type ChildHandle, spawnChild } from "../child-script";
import type { ServerChildConfig } from "./server-child";

/** A running server child of the SSE scenarios. */
export interface ServerProcess {
  url: string;
  /** Ids of the prepared `bench.ticks` tasks, in the order of `counts` (Taskwire mode). */
  taskIds: string[];
  /** Starts sampling the server's peak RSS from its current RSS. */
  mark(): Promise<void>;
  /** Stops sampling: the RSS at `mark()` and the peak since, in bytes. */
  peak(): Promise<{ baseline: number; peak: number }>;
  stop(): Promise<void>;
}

/** Starts `sse/server-child.ts` with `config` and waits until it listens. */
export async function startServerProcess(config: ServerChildConfig): Promise<ServerProcess> {
  const handle: ChildHandle = await spawnChild("sse/server-child.ts", config);
  try {
    const ready = JSON.parse(await handle.line((l) => l.startsWith("{"), 120_000)) as {
      port: number;
      taskIds: string[];
    };
    const url = `http://127.0.0.1:${ready.port}`;
    return {
      url,
      taskIds: ready.taskIds,
      async mark() {
        await (await fetch(`${url}/__bench/mark`)).text();
      },
      async peak() {
        return (await (await fetch(`${url}/__bench/peak`)).json()) as { baseline: number; peak: number };
      },
      stop: () => handle.kill("SIGKILL"),
    };
  } catch (error) {
    await handle.kill();
    throw error;
  }
}
