export {
  describeStoreConformance,
  type StoreConformanceOptions,
  type StoreFactory,
} from "./conformance/describe-store-conformance";
