/** `@taskwire/cli`: the `taskwire` command line (see README), also callable in-process through `run`. */
export type { CliIo, CliWritable } from "./io";
export { run } from "./run";
