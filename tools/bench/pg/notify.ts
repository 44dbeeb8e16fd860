import pg from "pg";
import { type Latency, timeEach } from "../stats";

/**
 * The raw limit of a cross-node wake-up: one connection LISTENs, another issues `pg_notify`; each sample
 * is timed from the notify call to the notification's arrival on the listener, `samples` in sequence.
 */
export async function notifyRoundTrip(url: string, channel: string, samples: number): Promise<Latency> {
  const listener = new pg.Client({ connectionString: url });
  const notifier = new pg.Client({ connectionString: url });
  await listener.connect();
  await notifier.connect();
  try {
    await listener.query(`LISTEN ${channel}`);
    let waiting: { payload: string; resolve: () => void } | undefined;
    listener.on("notification", (message) => {
      if (waiting && message.payload === waiting.payload) waiting.resolve();
    });
    return await timeEach(samples, async (i) => {
      const payload = String(i);
      const arrived = new Promise<void>((resolve) => {
        waiting = { payload, resolve };
      });
      await Promise.all([notifier.query("SELECT pg_notify($1, $2)", [channel, payload]), arrived]);
    });
  } finally {
    await listener.end();
    await notifier.end();
  }
}
