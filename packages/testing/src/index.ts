export {
  describeStoreConformance,
  type StoreConformanceOptions,
  type StoreFactory,
} from "./conformance/describe-store-conformance";
export { type OpenSSEOptions, openSSE, type SSEConnection } from "./sse/open-sse";
export {
  type BufferableRequest,
  collectRawBody,
  type ParsedSSEResponse,
  parseSSEResponse,
  type RawBodyResponse,
} from "./sse/parse-sse-response";
export { SSECollector, type SSEFrame, type SSEParseResult } from "./sse/sse-collector";
