/**
 * Which fields of a payload a source adapter had to default, so payload drift shows in `/metrics`
 * (`chatops_payload_defaults_total{source,field}`) and in the `webhook accepted` log line instead of as a 400 that
 * loses the alert. The rule (docs/panther.md "What the bridge accepts"): refuse only what cannot be shown at all;
 * default a missing, empty or unusable field with a display value; coerce or drop a field of the wrong type.
 *
 * Parsing is synchronous, so one recording is active at a time: {@link recordDefaults} opens it around a parse, and
 * whatever runs inside (zod `.catch` handlers and transforms included, which have no other way out) notes into it.
 */
import { z } from 'zod';

let active: Set<string> | null = null;

/** Notes that `field` was defaulted or coerced in the payload being parsed (no-op outside a recording). */
export function noteDefault(field: string): void {
  active?.add(field);
}

/**
 * Runs `parse` and returns its result with the fields it defaulted, each once, in the order first noted. Nested
 * recordings are independent: an inner one (one alert of a group) does not leak into the outer (the envelope).
 */
export function recordDefaults<T>(parse: () => T): { result: T; defaults: string[] } {
  const outer = active;
  const fields = new Set<string>();
  active = fields;
  try {
    return { result: parse(), defaults: [...fields] };
  } finally {
    active = outer;
  }
}

/** `schema`, or `fallback` noted as a default of `field` when the value is present but not what `schema` takes. */
export function orDefault<S extends z.ZodType>(schema: S, field: string, fallback: z.output<S>) {
  return schema.catch(() => {
    noteDefault(field);
    return fallback;
  });
}

/**
 * Optional text as senders really send it: a string as is; absent or null as null; a number or boolean as its
 * text (noted: the sender is not who we think it is, or changed); anything else (object, array) dropped as null
 * (noted).
 */
export function textOf(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  noteDefault(field);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
}

/** {@link textOf} as a zod schema, for the label-based sources' payload schemas. */
export function lenientText(field: string) {
  return z.unknown().optional().transform((value) => textOf(value, field));
}
