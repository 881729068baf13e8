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
      // Children are visited only until `maxFacts` are found: building every child's key first (20,000 of them
      // for a 20,000-element array, on each render) was most of a hostile context's render time.
      if (Array.isArray(value)) {
        if (value.length === 0 && key !== '') facts.push({ key, value: '[]' });
        for (let index = 0; index < value.length && facts.length < maxFacts; index++) walk(value[index], `${key}[${index}]`, depth + 1);
        return;
      }
      const names = Object.keys(value);
      if (names.length === 0 && key !== '') facts.push({ key, value: '{}' });
      for (let i = 0; i < names.length && facts.length < maxFacts; i++) walk(value[names[i]!], key === '' ? names[i]! : `${key}.${names[i]}`, depth + 1);
      return;
    }
    const text = value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    facts.push({ key: key === '' ? 'value' : key, value: text.length > maxValueLength ? `${Array.from(text).slice(0, maxValueLength).join('')}…` : text });
  };
  if (context !== null && typeof context === 'object') walk(context as JsonValue, '', 0);
  return facts;
}
