import { freePort, spawnServer, startServer } from "@taskwire/testing/process";
import { describe, expect, it, onTestFinished } from "vitest";

/** A tiny HTTP server that logs pino-style, ignores SIGTERM when told to, and prints to stderr too. */
const SERVER = `
const http = require("node:http");
if (process.env.STUBBORN) process.on("SIGTERM", () => console.error("ignoring SIGTERM"));
else process.on("SIGTERM", () => server.close(() => process.exit(0)));
console.error("booting");
const server = http.createServer((_req, res) => res.end("ok")).listen(Number(process.env.PORT), "127.0.0.1", () => {
  console.log(JSON.stringify({ level: 30, time: Date.now(), event: "server.listen_started", port: server.address().port }));
});
`;

describe("@taskwire/testing/process", () => {
  it("starts a server, reads its port from the listening line, collects its output and stops it gracefully", async () => {
    const port = await freePort();
    const server = await startServer({ name: "tiny", args: ["-e", SERVER], env: { PORT: String(port) } });
    onTestFinished(async () => {
      await server.kill();
    });
    expect(server.port).toBe(port);
    expect(await (await fetch(server.url)).text()).toBe("ok");
    expect(server.lines).toContain("booting");
    expect(server.logs).toEqual([expect.objectContaining({ event: "server.listen_started", port })]);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });

  it("escalates to SIGKILL when SIGTERM is ignored past the grace; kill() is a crash", async () => {
    const stubborn = spawnServer({ args: ["-e", SERVER], env: { PORT: "0", STUBBORN: "1" } });
    onTestFinished(async () => {
      await stubborn.kill();
    });
    await stubborn.ready;
    expect(await stubborn.stop(100)).toEqual({ code: null, signal: "SIGKILL" });

    const crashed = spawnServer({ args: ["-e", SERVER], env: { PORT: "0" } });
    await crashed.ready;
    expect((await crashed.kill()).signal).toBe("SIGKILL");
  });

  it("rejects `ready` with the output when the process exits first, and removes env set to undefined", async () => {
    process.env.TW_PROCESS_TEST_VAR = "inherited";
    onTestFinished(() => {
      delete process.env.TW_PROCESS_TEST_VAR;
    });
    const failing = spawnServer({
      name: "failing",
      args: ["-e", 'console.error("var=" + process.env.TW_PROCESS_TEST_VAR); process.exit(3)'],
      env: { TW_PROCESS_TEST_VAR: undefined },
    });
    await expect(failing.ready).rejects.toThrow(/failing exited before listening \(3\):\nvar=undefined/);
  });

  it("kills a server that does not listen within the timeout", async () => {
    let pid = 0;
    const attempt = startServer({
      name: "silent",
      args: ["-e", "console.log(process.pid); setInterval(() => {}, 1000)"],
      timeoutMs: 300,
      onLine: (line) => {
        pid = Number(line);
      },
    });
    await expect(attempt).rejects.toThrow("silent did not listen within 300 ms");
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/); // gone
  });
});
