export { postgresStore } from "./postgres-store";
export type { PostgresStoreOptions } from "./postgres-store-options";
