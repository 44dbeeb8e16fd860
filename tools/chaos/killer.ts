import type { Prng } from "../crash/prng";
import type { Cluster, NodeSlot } from "./cluster";
import { pick, sleep } from "./http";

/** The killer's knobs. */
export interface KillerSettings {
  /** Pause between two kills, in ms. */
  everyMs: readonly [number, number];
  /** How long a stopped node stays down before it is restarted, in ms. */
  downMs: readonly [number, number];
  /** Chance that a stop is a graceful SIGTERM instead of a SIGKILL. */
  termChance: number;
}

/**
 * Until `until`: every few seconds stops a random live node — SIGKILL, or now and then SIGTERM (a
 * graceful stop: its streams end with `interrupted`, its tasks are handed back) — unless it is the last
 * one listening, and restarts it after a while. Resolves once every restart it began has finished.
 * Failed restarts are retried and reported through `onError`.
 */
export async function runKiller(
  cluster: Cluster,
  rng: Prng,
  settings: KillerSettings,
  until: number,
  log: (line: string) => void,
  onError: (message: string) => void,
): Promise<void> {
  const restarts: Array<Promise<void>> = [];
  for (;;) {
    const wait = rng.int(settings.everyMs[0], settings.everyMs[1]);
    if (Date.now() + wait >= until) break;
    await sleep(wait);
    const live = cluster.live();
    if (live.length <= 1) continue; // keep one node listening
    const slot = pick(rng, live);
    if (!slot) continue;
    const kind = rng.next() < settings.termChance ? "SIGTERM" : "SIGKILL";
    const downMs = rng.int(settings.downMs[0], settings.downMs[1]);
    restarts.push(
      (async () => {
        const stop = await cluster.stop(slot, kind);
        if (stop) log(`${kind} ${slot.name} (pid ${stop.pid}, exited in ${stop.exitedAt - stop.at} ms)`);
        await sleep(downMs);
        await startWithRetries(cluster, slot, onError);
      })(),
    );
  }
  await Promise.all(restarts);
}

/** Starts a down slot, retrying a failed start twice (each failure reported). */
export async function startWithRetries(
  cluster: Cluster,
  slot: NodeSlot,
  onError: (message: string) => void,
): Promise<void> {
  for (let attempt = 1; attempt <= 3 && slot.state === "down"; attempt++) {
    try {
      await cluster.start(slot);
    } catch (error) {
      onError(
        `${slot.name} failed to start (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
