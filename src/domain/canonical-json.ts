import type { JsonValue } from './alert';

/**
 * Serialises a JSON value with object keys sorted at every depth and no whitespace, so two payloads that differ
 * only in key order, spacing or string escapes (`\u003c` vs `<`) produce the same text.
 */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys
    .filter((key) => value[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
    .join(',')}}`;
}
