import { memoryStore } from "@taskwire/core";
import type { TaskStore, Unwatch } from "@taskwire/core/store";
import { describeStoreConformance } from "@taskwire/testing";

/**
 * A second handle on a memory store, standing in for a second process over shared storage: its own
 * open/close state and its own watches (close stops them), every read and write going to `backing`.
 * It lets the cross-instance group of the suite run here, without a database.
 */
function secondHandle(backing: TaskStore): TaskStore {
  let closed = false;
  const watches = new Set<Unwatch>();
  const live = <T>(call: () => Promise<T>): Promise<T> =>
    closed ? Promise.reject(new Error("handle is closed")) : call();
  const track = (unwatch: Unwatch): Unwatch => {
    watches.add(unwatch);
    return () => {
      watches.delete(unwatch);
      unwatch();
    };
  };
  return {
    kind: "memory-handle",
    open: async () => {
      closed = false;
    },
    close: async () => {
      closed = true;
      for (const unwatch of watches) unwatch();
      watches.clear();
    },
    createTask: (t) => live(() => backing.createTask(t)),
    getTask: (id) => live(() => backing.getTask(id)),
    listTasks: (f) => live(() => backing.listTasks(f)),
    claimTasks: (r) => live(() => backing.claimTasks(r)),
    renewLease: (l, now, ms) => live(() => backing.renewLease(l, now, ms)),
    loadHistory: (id) => live(() => backing.loadHistory(id)),
    appendStep: (l, s) => live(() => backing.appendStep(l, s)),
    appendEvent: (l, e) => live(() => backing.appendEvent(l, e)),
    settleTask: (l, s, now) => live(() => backing.settleTask(l, s, now)),
    requestCancel: (id, now, e) => live(() => backing.requestCancel(id, now, e)),
    spawnChild: (l, s) => live(() => backing.spawnChild(l, s)),
    deliverSignal: (s) => live(() => backing.deliverSignal(s)),
    readSignal: (id, name, index) => live(() => backing.readSignal(id, name, index)),
    retryTask: (id, now) => live(() => backing.retryTask(id, now)),
    readEvents: (id, after, limit) => live(() => backing.readEvents(id, after, limit)),
    watchEvents: (id, onChange) => track(backing.watchEvents(id, onChange)),
    watchCancels: (onCancel) => track(backing.watchCancels(onCancel)),
    watchWork: (onWork) => track(backing.watchWork(onWork)),
    purgeTasks: (r) => live(() => backing.purgeTasks(r)),
    deleteTasksOfOwner: (owner, limit) => live(() => backing.deleteTasksOfOwner(owner, limit)),
  };
}

describeStoreConformance("memory, two handles", () => memoryStore(), { secondInstance: secondHandle });
