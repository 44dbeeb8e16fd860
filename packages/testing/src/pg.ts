/**
 * `@taskwire/testing/pg`: a PostgreSQL test environment for vitest (each file its own schema, dropped
 * afterwards; fails instead of skipping when `CI` is set). Needs the `pg` package.
 */
export { describePg, PG_URL, type PgEnv, setupPgEnv } from "./pg/pg-env";
