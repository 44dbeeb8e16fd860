import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { MAX_BATCH, OpFailure, type TransactionControl, WriteQueue } from "./write-queue";

/** A queue over an in-memory table `t(k PRIMARY KEY)`, counting transactions. */
function setup() {
  const db = new Database(":memory:");
  onTestFinished(() => void db.close());
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
  const log: string[] = [];
  const tx: TransactionControl = {
    begin: () => {
      log.push("begin");
      db.exec("BEGIN IMMEDIATE");
    },
    commit: () => {
      log.push("commit");
      db.exec("COMMIT");
    },
    rollback: () => {
      log.push("rollback");
      db.exec("ROLLBACK");
    },
    inTransaction: () => db.inTransaction,
  };
  const insert = db.prepare("INSERT INTO t (k) VALUES (?)");
  const keys = () => db.prepare("SELECT k FROM t ORDER BY k").pluck().all();
  return { db, log, queue: new WriteQueue(tx), insert, keys };
}

describe("WriteQueue", () => {
  it("commits every op queued in one turn in ONE transaction, in call order", async () => {
    const { queue, insert, keys, log } = setup();
    const order: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        queue.enqueue(() => {
          order.push(i);
          insert.run(`k${String(i).padStart(3, "0")}`);
          return i;
        }),
      ),
    );
    expect(results).toEqual(order);
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(log).toEqual(["begin", "commit"]);
    expect(keys()).toHaveLength(100);
  });

  it("rejects an OpFailure alone; the rest of its batch commits without a rollback", async () => {
    const { queue, insert, keys, log } = setup();
    const conflict = new Error("stale lease");
    const results = await Promise.allSettled([
      queue.enqueue(() => void insert.run("a")),
      queue.enqueue(() => new OpFailure(conflict)),
      queue.enqueue(() => void insert.run("c")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBe(conflict);
    expect(log).toEqual(["begin", "commit"]);
    expect(keys()).toEqual(["a", "c"]);
  });

  it("an op that throws after writing is undone and rejected; the others are replayed and commit", async () => {
    const { queue, insert, keys, log } = setup();
    let replays = 0;
    const results = await Promise.allSettled([
      queue.enqueue(() => {
        replays++;
        insert.run("a");
      }),
      queue.enqueue(() => {
        insert.run("half-done");
        insert.run("a"); // UNIQUE violation: an exception the op did not foresee
      }),
      queue.enqueue(() => void insert.run("c")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(keys()).toEqual(["a", "c"]);
    expect(replays).toBe(2);
    expect(log).toEqual(["begin", "rollback", "begin", "commit"]);
  });

  it("runs afterCommit hooks after COMMIT, once, even when the batch was replayed", async () => {
    const { queue, insert, db } = setup();
    const hooks: string[] = [];
    const first = queue.enqueue((batch) => {
      insert.run("a");
      batch.afterCommit(() => hooks.push(`in transaction: ${db.inTransaction}`));
    });
    const failing = queue.enqueue(() => {
      throw new Error("boom");
    });
    await first;
    await expect(failing).rejects.toThrow("boom");
    expect(hooks).toEqual(["in transaction: false"]);
  });

  it("a failed COMMIT rejects every op of the batch (nothing resolves before COMMIT returns)", async () => {
    const { db } = setup();
    let hooks = 0;
    const queue = new WriteQueue({
      begin: () => db.exec("BEGIN IMMEDIATE"),
      commit: () => {
        throw new Error("disk I/O error");
      },
      rollback: () => db.exec("ROLLBACK"),
      inTransaction: () => db.inTransaction,
    });
    const results = await Promise.allSettled([
      queue.enqueue((batch) => {
        batch.afterCommit(() => hooks++);
        return 1;
      }),
      queue.enqueue(() => 2),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(hooks).toBe(0);
    expect(db.inTransaction).toBe(false);
  });

  it("rejects the whole batch when the transaction cannot start", async () => {
    const tx: TransactionControl = {
      begin: () => {
        throw new Error("SQLITE_BUSY");
      },
      commit: () => {},
      rollback: () => {},
      inTransaction: () => false,
    };
    const queue = new WriteQueue(tx);
    const results = await Promise.allSettled([queue.enqueue(() => 1), queue.enqueue(() => 2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("flush() commits queued ops synchronously, and a later scheduled flush finds nothing", async () => {
    const { queue, insert, keys, log } = setup();
    const done = queue.enqueue(() => void insert.run("a"));
    expect(queue.size).toBe(1);
    queue.flush();
    expect(queue.size).toBe(0);
    expect(keys()).toEqual(["a"]);
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["begin", "commit"]);
  });

  it(`splits a burst longer than ${MAX_BATCH} ops into several transactions, in order`, async () => {
    const { queue, insert, keys, log } = setup();
    await Promise.all(
      Array.from({ length: MAX_BATCH + 10 }, (_, i) => queue.enqueue(() => void insert.run(String(i)))),
    );
    expect(log).toEqual(["begin", "commit", "begin", "commit"]);
    expect(keys()).toHaveLength(MAX_BATCH + 10);
  });
});
