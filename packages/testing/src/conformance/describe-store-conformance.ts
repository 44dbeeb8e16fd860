import { describe } from "vitest";
import { claimConformance } from "./conformance.claim";
import { createConformance } from "./conformance.create";
import { debounceConformance } from "./conformance.debounce";
import { erasureConformance } from "./conformance.erasure";
import { cancelTreeConformance } from "./conformance.flows.cancel-tree";
import { childrenConformance } from "./conformance.flows.children";
import { flowsInstancesConformance } from "./conformance.flows.instances";
import { retryConformance } from "./conformance.flows.retry";
import { signalsConformance } from "./conformance.flows.signals";
import { spawnConformance } from "./conformance.flows.spawn";
import { waitConformance } from "./conformance.flows.wait";
import { watchWorkConformance } from "./conformance.flows.watch-work";
import { instancesConformance } from "./conformance.instances";
import type { StoreConformanceOptions, StoreFactory } from "./conformance.kit";
import { limitsConformance } from "./conformance.limits";
import { listConformance } from "./conformance.list";
import { orderConformance } from "./conformance.order";
import { raceConformance } from "./conformance.race";
import { retentionConformance } from "./conformance.retention";
import { runningLimitsConformance } from "./conformance.running-limits";
import { settleConformance } from "./conformance.settle";
import { startLimitsConformance } from "./conformance.start-limits";
import { walConformance } from "./conformance.wal";
import { watchConformance } from "./conformance.watch";
import { watchErrorsConformance } from "./conformance.watch-errors";

export type { StoreConformanceOptions, StoreFactory } from "./conformance.kit";

/**
 * Registers the `TaskStore` conformance suite (vitest): one test per guarantee stated on the interface.
 * `factory` is called once per test and must return a new, unopened store; the suite opens it and closes
 * it when the test finishes. Tests scope every name and owner to themselves, so stores whose backing
 * storage outlives one test (a PostgreSQL schema per file) pass as well as empty ones.
 * @example describeStoreConformance("memory", () => memoryStore());
 */
export function describeStoreConformance(
  name: string,
  factory: StoreFactory,
  options: StoreConformanceOptions = {},
): void {
  const suite = { factory, options };
  describe(`TaskStore conformance: ${name}`, () => {
    createConformance(suite);
    limitsConformance(suite);
    startLimitsConformance(suite);
    debounceConformance(suite);
    listConformance(suite);
    claimConformance(suite);
    orderConformance(suite);
    runningLimitsConformance(suite);
    walConformance(suite);
    settleConformance(suite);
    watchConformance(suite);
    watchErrorsConformance(suite);
    raceConformance(suite);
    instancesConformance(suite);
    spawnConformance(suite);
    waitConformance(suite);
    childrenConformance(suite);
    signalsConformance(suite);
    retryConformance(suite);
    cancelTreeConformance(suite);
    watchWorkConformance(suite);
    flowsInstancesConformance(suite);
    retentionConformance(suite);
    erasureConformance(suite);
  });
}
