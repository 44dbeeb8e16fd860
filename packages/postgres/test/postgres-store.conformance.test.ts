import { postgresStore } from "@taskwire/postgres";
import { describeStoreConformance } from "@taskwire/testing";
import { describePg, setupPgEnv } from "@taskwire/testing/pg";

// One schema for the whole file: every conformance test scopes its names and owners to itself.
const env = await setupPgEnv("conformance");
const store = () => postgresStore({ connectionString: env.url, schema: env.schema, max: 4 });

describePg(env, "postgres", () =>
  describeStoreConformance("postgres", store, { secondInstance: store, ringTimeoutMs: 3000 }),
);
