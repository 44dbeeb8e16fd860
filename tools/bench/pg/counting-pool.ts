import pg from "pg";

/**
 * A pg Pool that counts every query its clients issue (`pool.query` goes through a client too). With
 * the node-postgres protocol each `query()` call is one round trip (parse/bind/execute/sync are sent
 * together), so the count is the store's round trips; the texts say which statements they were.
 */
export interface CountingPool {
  pool: pg.Pool;
  /** Queries since the last `reset()`. */
  count(): number;
  /** Counts by statement text (whitespace collapsed, cut at 160 characters) since the last `reset()`. */
  byText(): Map<string, number>;
  reset(): void;
}

/** Creates a counting pool of `max` connections on `url`. */
export function countingPool(url: string, max: number): CountingPool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", () => undefined);
  let total = 0;
  let texts = new Map<string, number>();
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      total += 1;
      const first = args[0];
      const text =
        typeof first === "string" ? first : ((first as { text?: string } | undefined)?.text ?? "?");
      const key = text.replace(/\s+/g, " ").trim().slice(0, 160);
      texts.set(key, (texts.get(key) ?? 0) + 1);
      return query(...args);
    };
  });
  return {
    pool,
    count: () => total,
    byText: () => texts,
    reset: () => {
      total = 0;
      texts = new Map();
    },
  };
}
