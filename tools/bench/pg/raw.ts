import { randomUUID } from "node:crypto";
import type pg from "pg";
import { type Latency, nsToMs, perSecond, timeEach } from "../stats";

/** A time-ordered id like the engine's task ids (UUIDv7), so the floor gets the same B-tree locality. */
export function timeOrderedId(): string {
  const random = randomUUID();
  const time = Date.now().toString(16).padStart(12, "0").slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

/** Creates the floor's table in `schema` (a checkpoint-shaped row: task id, position, output, time). */
export async function createFloorTable(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.floor_steps (
    task_id text COLLATE "C" NOT NULL,
    position integer NOT NULL,
    output text NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (task_id, position)
  )`);
}

const INSERT = (schema: string) => ({
  name: `floor_insert_${schema}`,
  text: `INSERT INTO ${schema}.floor_steps (task_id, position, output, at) VALUES ($1, $2, $3, $4)`,
});

/**
 * The hand-written floor: a "3-step task" is `commitsPerTask` single-row INSERTs (3: the checkpoints; 5:
 * also the start and the settlement), each its own autocommit transaction (durable, like a checkpoint),
 * on a connection the starter holds. `concurrency` starters run for `durationMs`; returns tasks/s.
 */
export async function rawFloor(
  pool: pg.Pool,
  schema: string,
  options: { concurrency: number; durationMs: number; commitsPerTask: number },
): Promise<number> {
  const insert = INSERT(schema);
  let tasks = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.durationMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      const client = await pool.connect();
      try {
        while (Date.now() < deadline) {
          const id = timeOrderedId();
          for (let position = 0; position < options.commitsPerTask; position++) {
            await client.query({ ...insert, values: [id, position, String(position + 1), Date.now()] });
          }
          tasks += 1;
        }
      } finally {
        client.release();
      }
    }),
  );
  return perSecond(tasks, nsToMs(process.hrtime.bigint() - started));
}

/** Latency of one single-row INSERT (autocommit) on one connection, `samples` times in sequence. */
export async function rawInsertLatency(pool: pg.Pool, schema: string, samples: number): Promise<Latency> {
  const insert = INSERT(schema);
  const client = await pool.connect();
  try {
    const id = timeOrderedId();
    return await timeEach(samples, (position) =>
      client.query({ ...insert, values: [id, position, "1", Date.now()] }),
    );
  } finally {
    client.release();
  }
}
