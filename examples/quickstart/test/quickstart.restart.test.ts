import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type ServerProcess } from "@taskwire/testing/process";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it, vi } from "vitest";
import { digestOf } from "../src/report-task";
import { startQuickstart } from "./quickstart-server";

const servers: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

interface Frame {
  seq: number;
  name: string;
  data: Record<string, unknown>;
}

describe("quickstart server killed mid-task", () => {
  it("resumes after SIGKILL and a restart: the stream continues without gap or duplicate and the digest matches", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tw-quickstart-"));
    const port = await freePort();
    const env = { PORT: String(port), TASKWIRE_DB: join(dir, "tasks.db"), TASKWIRE_LEASE_MS: "1000" };
    const cookie = "tw_demo_user=alice";
    try {
      const first = await startQuickstart(env);
      servers.push(first);
      const started = await fetch(`${first.url}/api/tasks/reports.generate`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ chunks: 12, chunkMs: 150 }),
      });
      expect(started.status).toBe(202);
      const { taskId } = (await started.json()) as { taskId: string };

      const frames: Frame[] = [];
      const lastEventIds: string[] = [];
      let opens = 0;
      const source = new EventSource(`${first.url}/api/tasks/${taskId}/events`, {
        fetch: (input, init) => {
          const headers = new Headers(init?.headers);
          lastEventIds.push(headers.get("last-event-id") ?? "");
          headers.set("cookie", cookie);
          return fetch(input, { ...init, headers });
        },
      });
      source.onopen = () => {
        opens++;
      };
      const done = new Promise<void>((resolve, reject) => {
        const onFrame = (name: string) => (event: MessageEvent) => {
          frames.push({ seq: Number(event.lastEventId), name, data: JSON.parse(event.data) });
          if (name === "completed" || name === "failed" || name === "cancelled") {
            source.close();
            resolve();
          }
        };
        for (const name of ["progress", "completed", "failed", "cancelled"])
          source.addEventListener(name, onFrame(name));
        setTimeout(
          () => reject(new Error(`no terminal event; frames: ${JSON.stringify(frames)}`)),
          40_000,
        ).unref();
      });

      // Kill the server with SIGKILL once a few chunks have streamed, then start it again on the same port.
      await vi.waitFor(() => expect(frames.length, "progress before the kill").toBeGreaterThanOrEqual(3), {
        timeout: 15_000,
        interval: 5,
      });
      expect((await first.kill()).signal).toBe("SIGKILL");
      const seenBeforeKill = frames.length;
      const second = await startQuickstart(env);
      servers.push(second);
      await done;

      expect(frames.length).toBeGreaterThan(seenBeforeKill);
      expect(opens).toBeGreaterThanOrEqual(2); // it really reconnected
      expect(lastEventIds.some((id) => Number(id) >= 3)).toBe(true); // …with Last-Event-ID
      const progress = frames.filter((f) => f.name === "progress");
      expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
      expect(progress.map((f) => f.data.done)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const completed = frames.at(-1);
      expect(completed?.name).toBe("completed");
      const tokens = progress.map((f) => String(f.data.token));
      const digest = digestOf(tokens);
      expect((completed!.data.result as { digest: string }).digest).toBe(digest);
      expect((await second.stop()).code).toBe(0); // graceful shutdown (SIGTERM) exits cleanly
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
