import { memoryStore } from "@taskwire/core";
import { describeStoreConformance } from "@taskwire/testing";

describeStoreConformance("memory", () => memoryStore());
