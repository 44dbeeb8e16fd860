/**
 * Returns the process-wide value under `Symbol.for(key)` on `globalThis`, creating it once with `create`.
 * Process-wide state (AsyncLocalStorage slots, registries) must live here, not in a module-level
 * variable: an app that ends up with two copies of `@taskwire/core` (two versions, or a bundled and an
 * installed copy) would otherwise hold two slots, and a user context written through one copy would be
 * invisible to the other, so owner checks would fail open. Whatever is stored is therefore a contract
 * between versions: change its shape only in a backward-compatible way, or under a new key.
 */
export function globalSlot<T>(key: string, create: () => T): T {
  const symbol = Symbol.for(key);
  const slots = globalThis as unknown as Record<symbol, unknown>;
  if (!(symbol in slots)) {
    // Not enumerable or writable: a stray assignment cannot swap the slot under a running request.
    Object.defineProperty(slots, symbol, { value: create(), enumerable: false, writable: false });
  }
  return slots[symbol] as T;
}
