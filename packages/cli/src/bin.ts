#!/usr/bin/env node
import { run } from "./index";

// Ctrl-C (or SIGTERM) ends a --follow cleanly: the store is closed and the exit code is 0. A second one
// exits at once, as a user pressing it twice expects.
const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
});
