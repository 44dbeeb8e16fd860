import { jsonReplacer } from "../sse/frames";

/**
 * A value as plain JSON data: `BigInt` → decimal string, `Date` → ISO string, `undefined` members
 * dropped. `res.json()` would throw on a BigInt.
 * @example toJsonSafe({ n: 1n, at: new Date(0) }) // { n: "1", at: "1970-01-01T00:00:00.000Z" }
 */
export function toJsonSafe(value: unknown): unknown {
  const text = JSON.stringify(value, jsonReplacer);
  return text === undefined ? null : JSON.parse(text);
}
