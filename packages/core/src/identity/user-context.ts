import { AsyncLocalStorage } from "node:async_hooks";
import { globalSlot } from "../internal/global-slot";

/**
 * The identity a call (and the task it starts) runs as. `accessToken` is a secret: it is kept in memory
 * only and never written to the store or logged.
 */
export interface UserContext {
  /** Stable principal id; task ownership compares it. */
  userId: string;
  displayName?: string;
  /** Non-secret claims (roles, tenant) persisted with the task as its identity sidecar. */
  claims?: Record<string, unknown>;
  /** Secret bearer token, in memory only. */
  accessToken?: string;
}

/** The principal a bare call (outside any user context) runs as. */
export const SERVICE_PRINCIPAL: UserContext = Object.freeze({ userId: "service", displayName: "Service" });

// On globalThis, shared by every copy of @taskwire/core in the process: with a module-level store, a
// user entered through one copy (say express's) would be invisible to another copy's engine, which would
// then read as the service principal and skip owner filtering.
const storage = globalSlot("taskwire.userContext", () => new AsyncLocalStorage<UserContext>());

/**
 * Runs `fn` as `user`: `getCurrentUserContext()` returns it in everything `fn` awaits or schedules.
 * @example runInUserContext({ userId: "alice" }, () => taskflow.start(report, { rows: 5 }))
 */
export function runInUserContext<T>(user: UserContext, fn: () => T): T {
  return storage.run(Object.freeze({ ...user }), fn);
}

/** The current user context, or the service principal outside any. */
export function getCurrentUserContext(): UserContext {
  return storage.getStore() ?? SERVICE_PRINCIPAL;
}

/** Whether code is running inside {@link runInUserContext}. */
export function isInUserContext(): boolean {
  return storage.getStore() !== undefined;
}

/** Runs `fn` outside any user context (for callbacks that must not inherit a caller's identity). */
export function runAsService<T>(fn: () => T): T {
  return storage.exit(fn);
}
