import { isDeepStrictEqual } from "node:util";
import type { ProbeReport } from "./driver";
import type { ClientReport, ReceivedFrame } from "./sse-client";
import type { StoredState } from "./store-reader";

const show = (value: unknown) => JSON.stringify(value);
const where = (f: ReceivedFrame) => `connection ${f.connection} to ${f.node}`;

/**
 * Each client's frames, across all its reconnects, are exactly the task's WAL: seq 1..n in order, no
 * gap, no duplicate, every name and payload equal, up to the terminal event. The first difference is
 * reported with the connections around it (a gap usually sits at a reconnect).
 */
export function verifyClients(clients: readonly ClientReport[], state: StoredState): string[] {
  const violations: string[] = [];
  const byId = new Map(state.tasks.map((task) => [task.id, task]));
  clients.forEach((client, k) => {
    const label = `client #${k + 1} of ${client.taskId} (as ${client.owner}, ${client.connections} connections)`;
    for (const problem of client.problems) violations.push(`${label}: ${problem}`);
    const task = byId.get(client.taskId);
    if (!task) {
      violations.push(`${label}: the task is not in the store`);
      return;
    }
    if (!client.done)
      violations.push(`${label}: never received a terminal frame (${client.frames.length} frames)`);
    const wal = task.events;
    const frames = client.frames;
    const limit = Math.max(frames.length, client.done ? wal.length : 0);
    for (let i = 0; i < limit; i++) {
      const frame = frames[i];
      const event = wal[i];
      if (
        frame &&
        event &&
        frame.seq === event.seq &&
        frame.name === event.name &&
        isDeepStrictEqual(frame.data, event.data)
      )
        continue;
      const previous = frames[i - 1];
      if (!frame) {
        violations.push(
          `${label}: received ${frames.length} frames, the WAL has ${wal.length}: missing seq ${event?.seq} ${event?.name} and after`,
        );
      } else if (!event) {
        violations.push(
          `${label}: frame #${i + 1} seq ${frame.seq} ${frame.name} (${where(frame)}) is past the WAL's end (${wal.length} events)`,
        );
      } else if (frame.seq !== event.seq) {
        const kind = frames.slice(0, i).some((f) => f.seq === frame.seq)
          ? "a duplicate"
          : frame.seq > event.seq
            ? "a gap"
            : "out of order";
        violations.push(
          `${label}: ${kind} — frame #${i + 1} is seq ${frame.seq} ${frame.name} (${where(frame)}), expected seq ${event.seq} ${event.name}` +
            (previous ? `; the frame before was seq ${previous.seq} (${where(previous)})` : ""),
        );
      } else {
        violations.push(
          `${label}: seq ${frame.seq} (${where(frame)}) is ${frame.name} ${show(frame.data)}, the WAL has ${event.name} ${show(event.data)}`,
        );
      }
      return; // the first difference says it; the rest would only repeat it shifted
    }
  });
  return violations;
}

/** No non-owner got anything but 404, and every task listed to a user is that user's. */
export function verifyProbes(probes: ProbeReport, state: StoredState): string[] {
  const violations = probes.leaks.map((leak) => `non-owner: ${leak}`);
  const owners = new Map(state.tasks.map((task) => [task.id, task.owner]));
  for (const { user, taskIds } of probes.listed)
    for (const id of taskIds)
      if (owners.get(id) !== user)
        violations.push(`non-owner: GET /api/tasks as ${user} listed ${id} of ${owners.get(id)}`);
  return violations;
}
