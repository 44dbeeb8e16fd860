export { postgresStore } from "./postgres-store";
export type { PostgresStoreOptions } from "./postgres-store-options";
export { LATEST_SCHEMA_VERSION, readSchemaVersion } from "./schema-version";
