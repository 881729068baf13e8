/** Longest string a log line carries in any field, in UTF-16 code units; longer ones are cut with a marker. */
export const LOG_STRING_MAX = 1024;

/** How deep objects are bounded (`err.data.error`, `errors[0].message` …); deeper values are left as they are. */
const MAX_DEPTH = 6;

/** `text` cut to {@link LOG_STRING_MAX} with a marker saying how much was left out. */
export const cut = (text: string): string =>
  text.length <= LOG_STRING_MAX ? text : `${text.slice(0, LOG_STRING_MAX)}…[+${text.length - LOG_STRING_MAX} chars]`;

/** One value bounded: strings cut, errors turned into what pino's serializer would show of them, with bounded text. */
function bound(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cut(value);
  if (value === null || typeof value !== 'object' || depth === 0) return value;
  if (value instanceof Error) {
    // An error of the same prototype (pino's err serializer then shows its type as before), with its message and
    // stack (not enumerable, so copied by name) and its own fields bounded.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error & Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) copy[k] = bound(v, depth - 1);
    copy.message = cut(value.message);
    if (value.stack) copy.stack = cut(value.stack);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => bound(v, depth - 1));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, bound(v, depth - 1)]));
}

/**
 * pino `formatters.log`: every string of a log object, to {@link MAX_DEPTH} levels (`err.message`, `req.path`,
 * `err.data.error` …), at most {@link LOG_STRING_MAX} code units, the rest replaced by `…[+N chars]`. Alert content is
 * hostile input: a 900 KB alert id named in each of an alert's log lines, queued by the asynchronous stderr
 * destination faster than a pipe drains it, cost gigabytes (issue 14 review). pino redacts after this runs, on
 * the returned object, so redaction is unaffected.
 */
export function boundLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return bound(object, MAX_DEPTH) as Record<string, unknown>;
}

/**
 * pino `hooks.logMethod`: the message text bounded like every field (the formatter never sees `msg`), and an Error
 * logged on its own (`logger.error(err)`) bounded through {@link boundLogObject}.
 */
export function boundLogArguments(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
  method.apply(this, args.map((arg, i) => (typeof arg === 'string' ? cut(arg) : i === 0 && arg instanceof Error ? boundLogObject({ err: arg }).err : arg)));
}
