export { LATEST_SCHEMA_VERSION, readSchemaVersion } from "./schema-version";
export { type SqliteStoreOptions, sqliteStore } from "./sqlite-store";
