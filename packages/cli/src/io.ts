/** A stream the CLI writes to (`process.stdout`, or a test's collector). */
export interface CliWritable {
  write(chunk: string): unknown;
  /** Terminal width, when it is one; tables use at least 80 columns. */
  columns?: number;
}

/** Where `run` reads its environment and writes its output. */
export interface CliIo {
  stdout: CliWritable;
  stderr: CliWritable;
  /** `TASKWIRE_DB`, `TASKWIRE_PG_URL`, `TASKWIRE_PG_SCHEMA` are read from here. @default process.env */
  env?: Record<string, string | undefined>;
  /** Ends a `--follow` (exit code 0) when aborted; the bin aborts it on SIGINT and SIGTERM. */
  signal?: AbortSignal;
}
