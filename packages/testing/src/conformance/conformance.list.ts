import { NEVER_DUE, type TaskRecord } from "@taskwire/core/store";
import { describe, expect, it } from "vitest";
import { boom, type Kit, newestFirst, openKit, type Suite, T0, TERMINAL_DATA } from "./conformance.kit";

/** `listTasks`: filters, order and limits. Every query is scoped to the test's own owner or names. */
export function listConformance(suite: Suite): void {
  describe("listTasks", () => {
    /** One task in each status except `failed`, created at distinct times. */
    async function population(kit: Kit): Promise<Record<string, TaskRecord>> {
      const queued = await kit.create({ now: T0 + 1 });
      const running = (await kit.running({ now: T0 + 2 })).task;
      const done = await kit.running({ now: T0 + 3 });
      await kit.store.settleTask(
        done.lease,
        { status: "completed", result: "1", event: TERMINAL_DATA },
        T0 + 4,
      );
      const retrying = await kit.running({ now: T0 + 5 });
      await kit.store.settleTask(
        retrying.lease,
        { status: "retrying", error: boom(), runAt: T0 + 99 },
        T0 + 6,
      );
      const cancelled = await kit.create({ now: T0 + 7 });
      await kit.store.requestCancel(cancelled.id, T0 + 8, TERMINAL_DATA);
      const waiting = await kit.running({ now: T0 + 9 });
      await kit.store.settleTask(waiting.lease, { status: "waiting", runAt: NEVER_DUE, wakeOn: {} }, T0 + 10);
      return {
        queued,
        running,
        completed: done.task,
        retrying: retrying.task,
        cancelled,
        waiting: waiting.task,
      };
    }

    it("returns tasks newest first: createdAt desc, then id desc", async () => {
      const kit = await openKit(suite);
      const created: TaskRecord[] = [];
      for (const at of [T0 + 3, T0 + 1, T0 + 3, T0 + 2, T0 + 3, T0 + 1])
        created.push(await kit.create({ now: at }));
      const listed = await kit.store.listTasks({ owner: kit.owner });
      expect(listed.map((t) => t.id)).toEqual(newestFirst(created));
    });

    it("returns full task records", async () => {
      const kit = await openKit(suite);
      const task = await kit.create();
      expect(await kit.store.listTasks({ owner: kit.owner })).toEqual([await kit.get(task.id)]);
    });

    it("returns at most limit tasks, the newest ones", async () => {
      const kit = await openKit(suite);
      const created: TaskRecord[] = [];
      for (let i = 0; i < 5; i++) created.push(await kit.create({ now: T0 + i }));
      const listed = await kit.store.listTasks({ owner: kit.owner, limit: 2 });
      expect(listed.map((t) => t.id)).toEqual(newestFirst(created).slice(0, 2));
    });

    it("returns at most 100 tasks by default", async () => {
      const kit = await openKit(suite);
      await Promise.all(Array.from({ length: 101 }, (_, i) => kit.create({ now: T0 + i })));
      const listed = await kit.store.listTasks({ owner: kit.owner });
      expect(listed).toHaveLength(100);
      expect(listed.some((t) => t.createdAt === T0)).toBe(false);
    });

    it("filters by owner", async () => {
      const kit = await openKit(suite);
      const mine = await kit.create();
      await kit.create({ owner: `${kit.owner}-other` });
      expect((await kit.store.listTasks({ owner: kit.owner })).map((t) => t.id)).toEqual([mine.id]);
    });

    it("filters by task name", async () => {
      const kit = await openKit(suite);
      const other = `${kit.name}.other`;
      await kit.create();
      const b = await kit.create({ name: other });
      expect((await kit.store.listTasks({ name: other })).map((t) => t.id)).toEqual([b.id]);
    });

    it("filters by one status", async () => {
      const kit = await openKit(suite);
      const p = await population(kit);
      for (const status of ["queued", "running", "retrying", "waiting", "completed", "cancelled"] as const) {
        const listed = await kit.store.listTasks({ owner: kit.owner, status });
        expect(
          listed.map((t) => t.id),
          status,
        ).toEqual([p[status]!.id]);
        expect(listed[0]!.status).toBe(status);
      }
      expect(await kit.store.listTasks({ owner: kit.owner, status: "failed" })).toEqual([]);
    });

    it("filters by an array of statuses", async () => {
      const kit = await openKit(suite);
      const p = await population(kit);
      const listed = await kit.store.listTasks({
        owner: kit.owner,
        status: ["queued", "completed", "cancelled"],
      });
      expect(listed.map((t) => t.id)).toEqual([p.cancelled!.id, p.completed!.id, p.queued!.id]);
      expect(await kit.store.listTasks({ owner: kit.owner, status: [] })).toEqual([]);
    });

    it("filters by parentId", async () => {
      const kit = await openKit(suite);
      const parent = await kit.create();
      const children = [await kit.create({ parentId: parent.id, now: T0 + 1 })];
      children.push(await kit.create({ parentId: parent.id, now: T0 + 2 }));
      await kit.create({ parentId: (await kit.create()).id });
      const listed = await kit.store.listTasks({ parentId: parent.id });
      expect(listed.map((t) => t.id)).toEqual(newestFirst(children));
    });

    it("after resumes strictly after a key: paging by the last row's key visits every task once, in order", async () => {
      const kit = await openKit(suite);
      const created: TaskRecord[] = [];
      for (const at of [T0 + 9, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0 + 5, T0 + 1])
        created.push(await kit.create({ now: at }));
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await kit.store.listTasks({ owner: kit.owner, limit: 2, after });
        seen.push(...page.map((t) => t.id));
        const last = page.at(-1);
        if (page.length < 2 || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(newestFirst(created));
    });

    it("after keeps tasks at the key's createdAt with a smaller id, and older ones", async () => {
      const kit = await openKit(suite);
      const created: TaskRecord[] = [];
      for (const at of [T0 + 2, T0 + 1, T0 + 1, T0 + 1, T0]) created.push(await kit.create({ now: at }));
      const order = newestFirst(created);
      const key = created.find((t) => t.id === order[2])!;
      const listed = await kit.store.listTasks({
        owner: kit.owner,
        after: { createdAt: key.createdAt, id: key.id },
      });
      expect(listed.map((t) => t.id)).toEqual(order.slice(3));
    });

    it("filters combine with after: paging a filtered listing visits exactly its matches once", async () => {
      const kit = await openKit(suite);
      const other = `${kit.name}.other`;
      const hits: TaskRecord[] = [];
      for (let i = 0; i < 7; i++) {
        hits.push(await kit.create({ name: other, now: T0 + 5 }));
        await kit.create({ now: T0 + 5 });
        await kit.running({ name: other, now: T0 + 5 });
        await kit.create({ name: other, owner: `${kit.owner}-other`, now: T0 + 5 });
      }
      hits.push(await kit.create({ name: other, now: T0 + 1 }));
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const filter = { owner: kit.owner, name: other, status: "queued" as const, limit: 2, after };
        const page = await kit.store.listTasks(filter);
        seen.push(...page.map((t) => t.id));
        const last = page.at(-1);
        if (page.length < 2 || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(newestFirst(hits));
    });

    it("combines filters with AND", async () => {
      const kit = await openKit(suite);
      const other = `${kit.name}.other`;
      const hit = await kit.create({ name: other, now: T0 + 1 });
      await kit.create({ name: other, now: T0 + 50 });
      await kit.create({ now: T0 + 1 });
      await kit.running({ name: other, now: T0 + 1 });
      await kit.create({ name: other, owner: `${kit.owner}-other`, now: T0 + 1 });
      const listed = await kit.store.listTasks({
        owner: kit.owner,
        name: other,
        status: "queued",
        after: { createdAt: T0 + 50, id: "" },
      });
      expect(listed.map((t) => t.id)).toEqual([hit.id]);
    });
  });
}
