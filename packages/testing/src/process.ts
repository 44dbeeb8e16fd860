/**
 * `@taskwire/testing/process`: servers run as real child processes (start, wait for "listening", read
 * their logs, stop with SIGTERM or kill with SIGKILL) and a free-port helper. Node only.
 */
export {
  freePort,
  type LogLine,
  type ProcessExit,
  type ServerProcess,
  type SpawnServerOptions,
  type StartedServer,
  spawnServer,
  startServer,
} from "./process/spawn-server";
