import { sqliteStore } from "@taskwire/sqlite";
import { describeStoreConformance } from "@taskwire/testing";

describeStoreConformance("sqlite", () => sqliteStore({ path: ":memory:" }));
