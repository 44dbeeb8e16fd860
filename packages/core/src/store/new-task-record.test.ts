import { describe, expect, it } from "vitest";
import { newTaskRecord } from "./new-task-record";
import type { NewTask } from "./task-store";

const spec: NewTask = {
  id: "t1",
  name: "reports.generate",
  input: '{"rows":3}',
  owner: "alice",
  identity: '{"userId":"alice"}',
  parentId: "p1",
  runAt: 50,
  now: 40,
};

describe("newTaskRecord", () => {
  it("builds a queued record: revision 1, attempt 1, no lease, no events", () => {
    expect(newTaskRecord(spec)).toEqual({
      id: "t1",
      name: "reports.generate",
      status: "queued",
      revision: 1,
      input: '{"rows":3}',
      result: null,
      error: null,
      owner: "alice",
      identity: '{"userId":"alice"}',
      attempt: 1,
      claims: 0,
      runAt: 50,
      leaseOwner: null,
      leaseExpiresAt: null,
      cancelRequestedAt: null,
      lastSeq: 0,
      emits: 0,
      parentId: "p1",
      priority: 0,
      createdAt: 40,
      updatedAt: 40,
    });
  });

  it("with claimFor builds it running under that worker's lease (revision 2, claims 1)", () => {
    const task = newTaskRecord({ ...spec, claimFor: { workerId: "w1", leaseMs: 1000 } });
    expect(task).toMatchObject({
      status: "running",
      revision: 2,
      claims: 1,
      attempt: 1,
      leaseOwner: "w1",
      leaseExpiresAt: 1040,
    });
  });
});
