import { CHILD_EVENT, TERMINAL_STATUSES } from "@taskwire/core/store";
import type Database from "better-sqlite3";

/** A prepared statement with typed parameters and rows. */
export type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Prepares a statement on one connection. */
export type Prepare = <P extends unknown[], R = unknown>(sql: string) => Stmt<P, R>;

/** The fence every write under a lease checks, in the same statement as the write. */
export const FENCE = "id = ? AND revision = ? AND status = 'running' AND lease_owner = ?";

/** Core's terminal set as an SQL list: `('completed', 'failed', 'cancelled')`. */
export const TERMINAL = `(${TERMINAL_STATUSES.map((status) => `'${status}'`).join(", ")})`;

/** Names of WAL events the task did not emit itself: the terminal ones and the `child` bridge event. */
export const NOT_EMITTED = `(${[...TERMINAL_STATUSES, CHILD_EVENT].map((name) => `'${name}'`).join(", ")})`;

/** The predicate of the partial claim index, repeated verbatim (the migrations' text) in queries that must use it. */
export const ACTIVE = `status NOT IN ${TERMINAL}`;

/**
 * A bound row limit. Not a bare `LIMIT ?`: SQLite's planner reads a bare LIMIT variable, so binding it
 * expires the statement and every run re-prepares it (parse and plan: measured 6-14 us per call, more
 * than the query). `+?` is the same value as an expression the planner does not look into.
 */
export const BOUND_LIMIT = "LIMIT +?";

/** A value matches one of a JSON array bound as one parameter. */
export const IN_JSON = "IN (SELECT value FROM json_each(?))";
