import type { JsonValue } from '../domain/alert';

export interface Fact {
  key: string;
  value: string;
}

/**
 * Flattens alertContext into `dotted.key = value` facts (arrays as `key[0]`), keeping at most `maxFacts` and
 * cutting each value to `maxValueLength` characters, so a 200 KiB context cannot flood a message. Scalars are
 * shown as text, null as "null"; the walk is bounded in depth so hostile nesting cannot blow the stack.
 */
export function contextFacts(context: unknown, maxFacts = 10, maxValueLength = 300): Fact[] {
  const facts: Fact[] = [];
  const walk = (value: JsonValue | undefined, key: string, depth: number): void => {
    if (facts.length >= maxFacts) return;
    if (value !== null && typeof value === 'object' && depth < 6) {
      const entries = Array.isArray(value)
        ? value.map((item, index) => [`${key}[${index}]`, item] as const)
        : Object.keys(value).map((name) => [key === '' ? name : `${key}.${name}`, value[name]] as const);
      if (entries.length === 0) {
        if (key !== '') facts.push({ key, value: Array.isArray(value) ? '[]' : '{}' });
        return;
      }
      for (const [childKey, child] of entries) walk(child, childKey, depth + 1);
      return;
    }
    const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    facts.push({ key: key === '' ? 'value' : key, value: text.length > maxValueLength ? `${Array.from(text).slice(0, maxValueLength).join('')}…` : text });
  };
  if (context !== null && typeof context === 'object') walk(context as JsonValue, '', 0);
  return facts;
}
