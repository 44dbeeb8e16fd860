import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, spawnServer } from "@taskwire/testing/process";
import { afterAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "tw-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `src/server.ts` with a log format and returns the first line that announces the server. */
async function announce(format: "json" | "pretty") {
  const port = await freePort();
  const server = spawnServer({
    name: `quickstart-${format}`,
    cwd: root,
    args: ["--conditions=@taskwire/source", "--import", "tsx", "src/server.ts"],
    env: { PORT: String(port), TASKWIRE_DB: join(dir, `${format}.db`), TASKWIRE_LOG_FORMAT: format },
    listening: (line) => (line.includes("Taskwire quickstart at") ? port : undefined),
  });
  try {
    await server.ready;
    return { port, lines: [...server.lines], logs: [...server.logs] };
  } finally {
    await server.stop();
  }
}

describe("quickstart logs", () => {
  it("prints one JSON object per line when not on a terminal, with the inspector link", async () => {
    const { port, lines, logs } = await announce("json");
    const listen = logs.find((l) => l.event === "server.listen_started");
    expect(listen?.msg).toBe(
      `Taskwire quickstart at http://localhost:${port} · inspector at http://localhost:${port}/inspector`,
    );
    for (const line of lines.filter((l) => l.trim())) expect(() => JSON.parse(line)).not.toThrow();
  }, 30_000);

  it("prints readable lines (pino-pretty) on a terminal: time, level, event name, message", async () => {
    const { port, lines, logs } = await announce("pretty");
    expect(logs).toEqual([]); // no JSON
    const listen = lines.find((l) => l.includes("Taskwire quickstart at"));
    expect(listen).toMatch(
      new RegExp(
        String.raw`^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \(server\.listen_started\) Taskwire quickstart at http://localhost:${port} · inspector at http://localhost:${port}/inspector$`,
      ),
    );
  }, 30_000);
});
