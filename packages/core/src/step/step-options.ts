import type { RetryPolicy } from "../task/retry-policy";

/** Options of one step. */
export interface StepOptions {
  /** In-process retries of this step before the attempt fails. @default { maxAttempts: 1 } */
  retry?: RetryPolicy;
}
