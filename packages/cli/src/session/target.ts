import { CliError, usageError } from "../cli-error";

/** Where the tasks live: a SQLite file or a PostgreSQL schema. */
export type Target =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema: string; shownUrl: string; secrets: string[] };

/** The global options that choose the database. */
export interface TargetOptions {
  db?: string;
  pg?: string;
  pgSchema?: string;
}

/** `--db` / `--pg` (flags win), else `TASKWIRE_DB` / `TASKWIRE_PG_URL`; exactly one must be given. */
export function resolveTarget(options: TargetOptions, env: Record<string, string | undefined>): Target {
  if (options.db !== undefined && options.pg !== undefined) throw usageError("Give --db or --pg, not both.");
  const fromFlags = options.db !== undefined || options.pg !== undefined;
  const db = fromFlags ? options.db : nonEmpty(env.TASKWIRE_DB);
  const pg = fromFlags ? options.pg : nonEmpty(env.TASKWIRE_PG_URL);
  if (db !== undefined && pg !== undefined) {
    throw usageError("Both TASKWIRE_DB and TASKWIRE_PG_URL are set: pass --db or --pg to choose one.");
  }
  if (db !== undefined) {
    if (db === "") throw usageError("--db needs a SQLite file path.");
    return { kind: "sqlite", path: db };
  }
  if (pg !== undefined) {
    const schema = options.pgSchema ?? nonEmpty(env.TASKWIRE_PG_SCHEMA) ?? "taskwire";
    return { kind: "postgres", schema, ...parsePgUrl(pg) };
  }
  throw usageError(
    "No database: pass --db <sqlite file> or --pg <postgres url> (or set TASKWIRE_DB / TASKWIRE_PG_URL).",
  );
}

/** Validates a PostgreSQL URL and returns it with a printable form whose password is masked. */
function parsePgUrl(url: string): { url: string; shownUrl: string; secrets: string[] } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the value: it may hold a password.
    throw new CliError(
      "The PostgreSQL URL is not valid: expected postgres://user:password@host:port/database.",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new CliError(
      `The PostgreSQL URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//…).`,
    );
  }
  const secrets: string[] = [];
  if (parsed.password !== "") {
    secrets.push(parsed.password, safeDecode(parsed.password));
    parsed.password = "***";
  }
  for (const [key, value] of [...parsed.searchParams]) {
    if (!/pass|secret|key|token/i.test(key) || value === "") continue;
    secrets.push(value);
    parsed.searchParams.set(key, "***");
  }
  return { url, shownUrl: parsed.toString(), secrets };
}

/** `message` with every secret of the target masked (a driver may quote its connection string). */
export function scrub(message: string, target: Target): string {
  if (target.kind !== "postgres") return message;
  let out = message.split(target.url).join(target.shownUrl);
  for (const secret of target.secrets) if (secret.length > 0) out = out.split(secret).join("***");
  return out;
}

/** A printable name of the target for messages. */
export function describeTarget(target: Target): string {
  return target.kind === "sqlite"
    ? `SQLite database ${target.path}`
    : `PostgreSQL schema "${target.schema}" at ${target.shownUrl}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
