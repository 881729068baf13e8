import type { JsonValue } from './alert';

/** Thrown out of {@link sortedKeys} when an object's sorted key order cannot be an object's own key order. */
const UNREPRESENTABLE = Symbol('unrepresentable key order');

/**
 * Serialises a JSON value with object keys sorted at every depth and no whitespace, so two payloads that differ
 * only in key order, spacing or string escapes (`\u003c` vs `<`) produce the same text.
 *
 * Native `JSON.stringify`, with a replacer that hands it each object with its keys in sorted order: walking the
 * value in JS took 40–120 ms of event loop for an alertContext of 20,000 small objects (test/hostile.test.ts),
 * several times this. When integer-like keys make the sorted order impossible for an object ("10" sorts before
 * "9", but objects list integer keys first, ascending) it falls back to the walk. The text is the same either way,
 * byte for byte, so stored dedup keys stay valid (test/panther.test.ts compares the two).
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return 'null';
  try {
    return JSON.stringify(value, sortedKeys);
  } catch (error) {
    if (error !== UNREPRESENTABLE) throw error;
    return canonicalJsonByWalk(value);
  }
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  if (sorted) return value;
  keys.sort();
  const copy = {};
  // Defined, not assigned: a `__proto__` key stays an own property.
  for (const key of keys) Object.defineProperty(copy, key, { value: (value as Record<string, unknown>)[key], enumerable: true });
  const order = Object.keys(copy);
  for (let i = 0; i < order.length; i++) if (order[i] !== keys[i]) throw UNREPRESENTABLE;
  return copy;
}

/** The same text as {@link canonicalJson}, built by walking the value (the reference form). */
export function canonicalJsonByWalk(value: JsonValue | undefined): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJsonByWalk(item)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .filter((key) => value[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJsonByWalk(value[key])}`)
    .join(',')}}`;
}
