/**
 * A life of the recovery scenario, on `sqliteStore({ path })`. Its one argument is a JSON
 * {@link RecoveryLife}. `first`: starts a 5-step task and prints `{ taskId }`; the task's third step
 * prints `stuck` and never returns (the bench SIGKILLs the process there). `second`: opens the same file
 * (prints `open`), waits for the task through `subscribe` and prints `completed` when its terminal event
 * arrives: the lease of the dead process expires, this worker reclaims the task and replays it from its
 * two checkpoints.
 */
import { createTaskflow, defineTask } from "@taskwire/core";
import { sqliteStore } from "@taskwire/sqlite";
import { pino } from "pino";
import { z } from "zod";

/** What a life does. */
export type RecoveryLife =
  | { life: "first"; path: string; leaseMs: number; pollMs: number }
  | { life: "second"; path: string; leaseMs: number; pollMs: number; taskId: string };

// The bench holds our stdin open: when it dies (or ends us), stdin ends and so do we — no orphan server.
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();

const config = JSON.parse(process.argv[2] ?? "{}") as RecoveryLife;
const say = (line: string) => process.stdout.write(`${line}\n`);

const recover = defineTask({
  name: "bench.recover",
  input: z.object({}),
  result: z.object({ steps: z.number() }),
  async run(_input, ctx) {
    for (let i = 0; i < 5; i++) {
      await ctx.step(`s${i}`, async () => {
        if (i === 2 && config.life === "first") {
          say("stuck");
          await new Promise(() => {});
        }
        return i;
      });
    }
    return { steps: 5 };
  },
});

const taskflow = await createTaskflow({
  store: sqliteStore({ path: config.path }),
  logger: pino({ level: "silent" }),
  leaseMs: config.leaseMs,
  pollIntervalMs: config.pollMs,
});
taskflow.task(recover);
if (config.life === "first") {
  const { taskId } = await taskflow.start(recover, {});
  say(JSON.stringify({ taskId }));
} else {
  say("open");
  for await (const event of taskflow.subscribe(config.taskId)) {
    if (event.name === "completed") say("completed");
    else say(`ended ${event.name}`);
  }
  await taskflow.shutdown();
}
