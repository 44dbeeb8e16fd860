import { appendFileSync, existsSync, readFileSync } from "node:fs";

/**
 * The side-effect ledger: one file outside the database that every node appends to, one JSON line per
 * write (`appendFileSync` opens it O_APPEND and writes the line with one `write()`, so lines from
 * several processes never interleave). A step body writes its line before doing anything else, so a
 * body that ran is in the ledger even if its process was SIGKILLed a microsecond later.
 */

/** One ledger line. */
export interface LedgerEntry {
  /** `step`: a step body began; `spawn`: the parent is about to call `ctx.spawn` for child `key`. */
  kind: "step" | "spawn";
  taskId: string;
  /** The step key (`work#0`), or the child index for `spawn`. */
  key: string;
  pid: number;
  /** Epoch ms when the line was written. */
  at: number;
}

/** Appends one entry (synchronously: it is on disk, in the OS, before the caller's next statement). */
export function appendLedger(file: string, entry: Omit<LedgerEntry, "pid" | "at">): void {
  const line: LedgerEntry = { ...entry, pid: process.pid, at: Date.now() };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** Every entry of the ledger, in file order, and the lines that did not parse (torn writes). */
export function readLedger(file: string): { entries: LedgerEntry[]; torn: string[] } {
  if (!existsSync(file)) return { entries: [], torn: [] };
  const entries: LedgerEntry[] = [];
  const torn: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    try {
      entries.push(JSON.parse(line) as LedgerEntry);
    } catch {
      torn.push(line);
    }
  }
  return { entries, torn };
}
