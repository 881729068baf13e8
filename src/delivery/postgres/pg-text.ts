/**
 * Text that PostgreSQL refuses, made storable and given back as it came. A `text` value cannot hold U+0000 (the
 * wire protocol ends strings at it) and `jsonb` refuses the escape `\u0000`, but hostile payloads carry it in any
 * field (test/fixtures/panther/valid/hostile/nul-byte.json) and SQLite stores it. So every column that may hold
 * text of an alert or of a platform's answer goes through {@link toPgText} on the way in and {@link fromPgText} on
 * the way out.
 *
 * The code: U+0000 → `␀0`, `␀` (U+2400, SYMBOL FOR NULL) → `␀␀`; nothing else changes. It is reversible (every
 * `␀` starts a pair) and injective, so a unique column stays unique (two dedup keys differing only by a NUL stay
 * two keys) and equality lookups compare encoded values. Ordinary text, which holds neither character, is stored
 * as it is, so operators reading the tables with psql see it unchanged.
 */
const MARK = '\u2400';
const SPECIAL = /[\u0000\u2400]/;
const ENCODE = /[\u0000\u2400]/g;
const DECODE = /\u2400([\u24000])/g;

/** `value` as the store's text columns hold it (see the module comment). */
export function toPgText(value: string): string;
export function toPgText(value: string | null): string | null;
export function toPgText(value: string | null | undefined): string | null | undefined;
export function toPgText(value: string | null | undefined): string | null | undefined {
  if (typeof value !== 'string' || !SPECIAL.test(value)) return value;
  return value.replace(ENCODE, (c) => (c === MARK ? MARK + MARK : `${MARK}0`));
}

/** The text {@link toPgText} stored. */
export function fromPgText(value: string): string;
export function fromPgText(value: string | null): string | null;
export function fromPgText(value: string | null): string | null {
  if (value === null || !value.includes(MARK)) return value;
  return value.replace(DECODE, (_, c: string) => (c === MARK ? MARK : '\u0000'));
}

/** A string-valued JSON object (message refs, write-back arguments) with every key and value encoded, for `jsonb`. */
export function toPgRecord(record: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(record).map(([k, v]) => [toPgText(k), toPgText(v)])));
}

/** What {@link toPgRecord} stored (node-postgres has parsed the `jsonb` already), or null. */
export function fromPgRecord(value: Record<string, string> | null): Record<string, string> | null {
  if (value === null) return null;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [fromPgText(k), fromPgText(v)]));
}

/**
 * A LIKE pattern matching `text` anywhere in a column encoded by {@link toPgText}, with the user's `%`, `_` and
 * `\` taken literally (the statement says `ESCAPE '\'`).
 */
export function containsPattern(text: string): string {
  return `%${toPgText(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
