import { existsSync, statSync } from "node:fs";
import type { Taskflow } from "@taskwire/core";
import type { TaskStore } from "@taskwire/core/store";
import { pino } from "pino";
import { CliError, oneLine } from "../cli-error";
import { describeTarget, scrub, type Target } from "./target";

/** An opened store, the taskflow made on it on demand, and one way to close both. */
export interface Session {
  readonly target: Target;
  readonly store: TaskStore;
  /** A taskflow without a worker over the store, as the service principal (created on first call). */
  taskflow(): Promise<Taskflow>;
  /** Closes the taskflow or the store (the PostgreSQL pool, the SQLite handle). Idempotent. */
  close(): Promise<void>;
}

/**
 * Checks the target without creating anything (the SQLite file exists and is a Taskwire database, the
 * PostgreSQL schema exists; neither is newer than this CLI knows), then opens its store.
 */
export async function openSession(target: Target): Promise<Session> {
  const store = target.kind === "sqlite" ? await openSqlite(target.path) : await openPostgres(target);
  try {
    await store.open();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new CliError(`Cannot open the ${describeTarget(target)}: ${scrub(oneLine(error), target)}`);
  }
  let taskflow: Promise<Taskflow> | undefined;
  let closing: Promise<void> | undefined;
  return {
    target,
    store,
    taskflow() {
      // Loaded on demand: list, show, events and signal need only the store, and the engine is most of
      // the start-up time of a short-lived command. Its logs are not the CLI's output.
      taskflow ??= import("@taskwire/core").then(({ createTaskflow }) =>
        createTaskflow({ store, worker: false, logger: pino({ level: "silent" }) }),
      );
      return taskflow;
    },
    close() {
      closing ??= (taskflow ? taskflow.then((t) => t.shutdown()) : store.close()).catch(() => store.close());
      return closing;
    },
  };
}

async function openSqlite(path: string): Promise<TaskStore> {
  // Checked first: better-sqlite3 would create a missing file, and the store would migrate a foreign one.
  if (!existsSync(path)) {
    throw new CliError(`No SQLite database at ${path}: the file does not exist (the CLI never creates one).`);
  }
  if (!statSync(path).isFile()) throw new CliError(`${path} is not a SQLite database file.`);
  const sqlite = await importStorePackage("@taskwire/sqlite", () => import("@taskwire/sqlite"), "--db");
  let version: number | undefined;
  try {
    version = sqlite.readSchemaVersion(path);
  } catch (error) {
    throw new CliError(`Cannot read the SQLite database ${path}: ${oneLine(error)}`);
  }
  if (version === undefined) {
    throw new CliError(`${path} is not a Taskwire database (it has no taskwire_migrations table).`);
  }
  if (version > sqlite.LATEST_SCHEMA_VERSION)
    throw newerSchema(
      `The SQLite database ${path}`,
      version,
      sqlite.LATEST_SCHEMA_VERSION,
      "@taskwire/sqlite",
    );
  return sqlite.sqliteStore({ path });
}

async function openPostgres(target: Extract<Target, { kind: "postgres" }>): Promise<TaskStore> {
  const postgres = await importStorePackage("@taskwire/postgres", () => import("@taskwire/postgres"), "--pg");
  const { url: connectionString, schema } = target;
  let version: number | undefined;
  try {
    version = await postgres.readSchemaVersion({ connectionString, schema });
  } catch (error) {
    throw new CliError(`Cannot read the ${describeTarget(target)}: ${scrub(oneLine(error), target)}`);
  }
  if (version === undefined) {
    // The store would create it: the CLI only reads what an app made.
    throw new CliError(
      `PostgreSQL schema "${schema}" does not exist (or holds no Taskwire tables) at ${target.shownUrl}; nothing was created. Use --pg-schema for another schema.`,
    );
  }
  // The store accepts a newer schema (rolling deploys); the CLI would misread its rows.
  if (version > postgres.LATEST_SCHEMA_VERSION)
    throw newerSchema(
      `PostgreSQL schema "${schema}"`,
      version,
      postgres.LATEST_SCHEMA_VERSION,
      "@taskwire/postgres",
    );
  return postgres.postgresStore({ connectionString, schema, max: 2 });
}

function newerSchema(what: string, version: number, latest: number, pkg: string): CliError {
  return new CliError(
    `${what} has schema version ${version}, newer than this CLI knows (${latest}): upgrade @taskwire/cli and ${pkg}.`,
  );
}

/** Loads an optional store package, with a clear error when this project did not install it. */
async function importStorePackage<T>(name: string, load: () => Promise<T>, flag: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && oneLine(error).includes(name)) {
      throw new CliError(
        `${flag} needs the ${name} package: install it in this project (npm install ${name}).`,
      );
    }
    throw error;
  }
}
