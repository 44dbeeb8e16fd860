/**
 * `@taskwire/testing`: the store conformance suite, a test runtime (fake clock, stub taskflow, crash
 * helper) and SSE helpers. Node-only extras live on subpaths: `@taskwire/testing/pg` (a PostgreSQL test
 * environment) and `@taskwire/testing/process` (servers run as child processes).
 */
export { createFakeClock, type FakeClock, type FakeClockOptions } from "./clock/fake-clock";
export {
  describeStoreConformance,
  type StoreConformanceOptions,
  type StoreFactory,
} from "./conformance/describe-store-conformance";
export { type CrashPoint, type DyingStore, dyingStore } from "./crash/dying-store";
export { type CrashTestOptions, type CrashTestResult, runCrashTest } from "./crash/run-crash-test";
export { type OpenSSEOptions, openSSE, type SSEConnection } from "./sse/open-sse";
export {
  type BufferableRequest,
  collectRawBody,
  type ParsedSSEResponse,
  parseSSEResponse,
  type RawBodyResponse,
} from "./sse/parse-sse-response";
export { SSECollector, type SSEFrame, type SSEParseResult } from "./sse/sse-collector";
export {
  createStubTaskflow,
  type StubEvent,
  type StubHandler,
  type StubResponse,
  type StubStart,
  type StubTaskflow,
  type StubTaskflowOptions,
} from "./stub/stub-taskflow";
