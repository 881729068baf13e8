import Handlebars from 'handlebars';
import { isSeverity, severityAtLeast, type JsonValue } from '../domain/alert';
import { contextFacts } from './context-facts';
import { MENTION_PLACEHOLDER } from './sanitize';
import { discordMentionMarkup, slackMentionMarkup, type MentionConfig } from '../routing/mentions';
import { isHttpUrl, jsonStringContent } from './escape';
import type { EscapeTrace } from './escape-report';
import { hostOf } from './links';
import { DISCORD_LIMITS, SLACK_LIMITS } from './limits';
import { formatInstant, SEVERITY_COLOR, SEVERITY_EMOJI, SEVERITY_WORD, typeLabel } from './presentation';
import type { RenderTarget } from './render-target';
import { RenderEscaping } from './render-escaping';


type HelperOptions = Handlebars.HelperOptions;

function targetOf(options: HelperOptions | undefined): RenderTarget {
  const target = (options?.data as { target?: RenderTarget } | undefined)?.target;
  return target ?? 'console';
}

/** What the engine puts in a render's private data (`@root` is Handlebars' own). */
interface RenderData {
  target?: RenderTarget;
  trace?: EscapeTrace;
  /** False only for a route with `defang: false`; absent means on. */
  defang?: boolean;
  /** The render's escaping, built once when it starts (engine.ts). */
  escaping?: unknown;
  root?: unknown;
}
const dataOf = (options: HelperOptions | undefined) => options?.data as RenderData | undefined;

/**
 * The render's escaping: the one the engine built for it, else (a render without one) one made from the data, as
 * the engine would have made it.
 */
function escapingOf(options: HelperOptions | undefined): RenderEscaping {
  const data = dataOf(options);
  if (data?.escaping instanceof RenderEscaping) return data.escaping;
  return new RenderEscaping(targetOf(options), data?.defang !== false, data?.trace, data?.root);
}

/** Text form of any template value: objects as JSON, null/undefined as empty. */
function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/** True when `url` is on one of the alert's own hosts ({@link ownHostsOf}; none without an alert: fails closed). */
function onAlertHosts(url: string, options: HelperOptions | undefined): boolean {
  const host = hostOf(url);
  return host !== null && escapingOf(options).ownHosts().has(host);
}

function mentionMarkup(options: HelperOptions): string {
  const config = (options?.data as { root?: { mentions?: MentionConfig } } | undefined)?.root?.mentions;
  const target = targetOf(options);
  return target === 'slack' ? slackMentionMarkup(config) : target === 'discord' ? discordMentionMarkup(config) : '';
}

const RELATIVE_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 31_536_000_000],
  ['month', 2_592_000_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "3 minutes ago" / "in 2 hours" for `thenMs` seen from `nowMs`. */
export function relativeTime(thenMs: number, nowMs: number): string {
  const delta = thenMs - nowMs;
  const [unit, size] = RELATIVE_UNITS.find(([, ms]) => Math.abs(delta) >= ms) ?? ['second', 1000];
  return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(Math.round(delta / size), unit);
}

/** Handlebars passes its options object as the last argument; strip it. */
function args(values: unknown[]): unknown[] {
  return values.slice(0, -1);
}

/**
 * `<` and `>` are Slack's control characters and have no business in a URL; percent-encoding them keeps the
 * URL equivalent (browsers do the same) while no alert-controlled `<!channel>` can ride along in a button.
 */
export function encodeAngleBrackets(url: string): string {
  return ANGLE_BRACKET.test(url) ? url.replace(/</g, '%3C').replace(/>/g, '%3E') : url;
}

const ANGLE_BRACKET = /[<>]/;

/** Longest URL a link button takes per target (Discord link button ≤512, Slack button ≤3000); console has no limit. */
const BUTTON_URL_MAX: Record<RenderTarget, number> = {
  slack: SLACK_LIMITS.buttonUrl,
  discord: DISCORD_LIMITS.linkUrl,
  console: Number.POSITIVE_INFINITY,
};

/**
 * True when `value` is an http(s) URL that a link button on `target` accepts as `{{url value}}` emits it (after
 * `<`/`>` percent-encoding). Templates show a URL that does not fit as text instead, so it never vanishes.
 */
export function fitsButton(value: unknown, target: RenderTarget): boolean {
  return isHttpUrl(value) && encodeAngleBrackets(value).length <= BUTTON_URL_MAX[target];
}

/** Years Discord accepts in an embed timestamp (and that ISO-8601 writes with four digits). */
const inIsoYearRange = (year: number): boolean => year >= 1 && year <= 9999;

/** `2024-01-02T03:04:05.000Z` for an instant in years 0001–9999 (UTC), else '' (Discord rejects the rest). */
export function isoDate(epochMs: unknown): string {
  if (typeof epochMs !== 'number' || !Number.isFinite(epochMs)) return '';
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) || !inIsoYearRange(date.getUTCFullYear()) ? '' : date.toISOString();
}

/**
 * {@link formatInstant} with the year always written with four digits. Instants whose year (in UTC, or in
 * `timeZone`) lies outside 0001–9999 are written in UTC from the ISO form instead (`0000-01-01 00:00:00 UTC`,
 * `+010000-01-01 23:58:59 UTC`), because Intl prints 1 BC as "1" and drops the sign.
 */
export function formatDate(epochMs: number, timeZone: string): string {
  const date = new Date(epochMs);
  if (Number.isNaN(date.getTime())) return '';
  const year = date.getUTCFullYear();
  const localInRange = (): boolean => {
    if (year > 1 && year < 9999) return true; // no zone offset can move a date out of range from here
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', era: 'short' }).formatToParts(date);
    const era = parts.find((part) => part.type === 'era')?.value ?? '';
    const local = Number(parts.find((part) => part.type === 'year')?.value);
    return !/^B/i.test(era) && inIsoYearRange(local);
  };
  if (!inIsoYearRange(year) || !localInRange()) {
    return date.toISOString().replace(/T(\d{2}:\d{2}:\d{2})\.\d{3}Z$/, ' $1 UTC');
  }
  return formatInstant(epochMs, timeZone).replace(/^(\d{1,3})-/, (_m, y: string) => `${y.padStart(4, '0')}-`);
}

const RESOLVED_EMOJI = '✅';
/** Slack's "good" green. */
const RESOLVED_HEX = '#2eb67d';
const isResolved = (alert: unknown) => alert !== null && typeof alert === 'object' && (alert as { status?: unknown }).status === 'resolved';
function severityOf(alert: unknown, table: Record<string, string>, fallback: string): string {
  const severity = alert !== null && typeof alert === 'object' ? (alert as { severity?: unknown }).severity : undefined;
  return isSeverity(severity) ? table[severity]! : fallback;
}

/** Deep-escapes every string in a JSON value for the platform (keys included) so `json` output stays safe. */
function escapeDeep(value: unknown, escape: (text: string) => string): unknown {
  if (typeof value === 'string') return escape(value);
  if (Array.isArray(value)) return value.map((item) => escapeDeep(item, escape));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[escape(key)] = escapeDeep(item, escape);
    return out;
  }
  return value;
}

/**
 * Helpers available to every template. Output helpers (`__esc`, `__raw`) are installed by the rewrite in
 * escape-ast.ts; helpers that return `SafeString` produce JSON fragments that are already safe and pass through.
 */
export function registerHelpers(hb: typeof Handlebars): void {
  const safe = (text: string) => new hb.SafeString(text);
  // Handlebars' own `lookup` with fewer than two arguments fails with a JavaScript TypeError about `lookupProperty`
  // that says nothing to a template author; same helper, with a message that does.
  const builtInLookup = hb.helpers['lookup'] as (...args: unknown[]) => unknown;
  hb.registerHelper('lookup', (...args: unknown[]) => {
    if (args.length < 3) throw new Error('lookup needs an object and a key, e.g. {{lookup alert.labels "team"}}');
    return builtInLookup(...args);
  });

  hb.registerHelper('__esc', (value: unknown, options: HelperOptions) => {
    if (value instanceof hb.SafeString) return value.toHTML();
    return escapingOf(options).json(asText(value));
  });
  // The explicit raw form: JSON-safe (cannot break the message structure) but not escaped for the platform; its
  // URLs are defanged like any value's (raw is about markup, not about making attacker links clickable).
  hb.registerHelper('__raw', (value: unknown, options: HelperOptions) => {
    if (value instanceof hb.SafeString) return value.toHTML();
    return jsonStringContent(escapingOf(options).defang(asText(value)));
  });

  /** `{{json value}}` emits a JSON value (not a string body); strings inside are platform-escaped. */
  hb.registerHelper('json', (value: unknown, options: HelperOptions) => {
    const escaping = escapingOf(options);
    return safe(JSON.stringify(escapeDeep(value ?? null, (text) => escaping.escape(text))) ?? 'null');
  });
  /**
   * `"url": {{url link}}` emits a JSON string for an http(s) URL on the alert's own hosts (its link's and its
   * runbook's), or null for anything else: alert data cannot put a button to a foreign host in a message.
   */
  hb.registerHelper('url', (value: unknown, options: HelperOptions) => {
    const text = asText(value);
    return safe(isHttpUrl(text) && onAlertHosts(text, options) ? JSON.stringify(encodeAngleBrackets(text)) : 'null');
  });
  /**
   * `{{link url "label"}}` — a clickable link in text (Slack `<url|label>`, Discord `[label](url)`) when the URL
   * is http(s) on the alert's own hosts; otherwise the value itself as plain escaped text.
   */
  hb.registerHelper('link', (value: unknown, ...rest: unknown[]) => {
    const options = rest[rest.length - 1] as HelperOptions;
    const [labelArg] = args(rest);
    const url = asText(value);
    const label = labelArg === undefined || labelArg === null || labelArg === '' ? url : asText(labelArg);
    const escaping = escapingOf(options);
    const target = escaping.target;
    // Not linkable (not a URL, or another host): show the value itself, escaped (and defanged), so no information
    // is hidden.
    if (!isHttpUrl(url) || !onAlertHosts(url, options)) return safe(jsonStringContent(escaping.escape(url === '' ? label : url)));
    const href = url.replace(/[<>|()\s]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    const linkHost = hostOf(url) ?? undefined;
    const labelEscape = (text: string) => escaping.escape(text, linkHost);
    // Slack stores link URLs entity-escaped like any text (`&` → `&amp;`).
    if (target === 'slack') return safe(jsonStringContent(`<${href.replace(/&/g, '&amp;')}|${labelEscape(label).replace(/\|/g, '¦')}>`));
    if (target === 'discord') return safe(jsonStringContent(`[${labelEscape(label).replace(/(?<!\\)\]/g, '\\]')}](${href})`));
    return safe(jsonStringContent(`${label} (${url})`));
  });
  /**
   * `{{mention}}` — the route's configured mentions for this platform (`<!here>`, `<!subteam^S…>`, `<@&role>` …),
   * the only mention markup that is not escaped; `{{#if (hasMention)}}` tells whether there is any.
   */
  // A placeholder: the destination swaps in the real markup after neutralising every other ping (sanitize.ts).
  hb.registerHelper('mention', (options: HelperOptions) => safe(mentionMarkup(options) === '' ? '' : jsonStringContent(MENTION_PLACEHOLDER)));
  hb.registerHelper('hasMention', (options: HelperOptions) => mentionMarkup(options) !== '');
  /** `{{jsonText value 1000}}`: pretty JSON as text (escaped like any value), cut to at most `max` characters. */
  hb.registerHelper('jsonText', (value: unknown, ...rest: unknown[]) => {
    const [max] = args(rest);
    const text = JSON.stringify(value ?? null, null, 2) ?? 'null';
    const limit = typeof max === 'number' ? max : 1000;
    return text.length > limit ? `${Array.from(text).slice(0, limit - 1).join('')}…` : text;
  });
  hb.registerHelper('gt', (a: unknown, b: unknown) => Number(a) > Number(b));
  hb.registerHelper('gte', (a: unknown, b: unknown) => Number(a) >= Number(b));
  hb.registerHelper('lt', (a: unknown, b: unknown) => Number(a) < Number(b));
  hb.registerHelper('lte', (a: unknown, b: unknown) => Number(a) <= Number(b));
  /** `{{#if (severityAtLeast alert.severity "HIGH")}}`: severity order INFO < LOW < MEDIUM < HIGH < CRITICAL. */
  hb.registerHelper('severityAtLeast', (severity: unknown, min: unknown) => isSeverity(severity) && isSeverity(min) && severityAtLeast(severity, min));
  hb.registerHelper('isHttpUrl', (value: unknown) => isHttpUrl(asText(value)));
  /** `{{#if (fitsButton url)}}`: an http(s) URL short enough for a link button on the render target. */
  hb.registerHelper('fitsButton', (value: unknown, options: HelperOptions) => fitsButton(asText(value), targetOf(options)));

  hb.registerHelper('severityEmoji', (value: unknown) => (isSeverity(value) ? SEVERITY_EMOJI[value] : '⚪'));
  hb.registerHelper('severityWord', (value: unknown) => (isSeverity(value) ? SEVERITY_WORD[value] : asText(value)));
  hb.registerHelper('severityColor', (value: unknown) => (isSeverity(value) ? SEVERITY_COLOR[value] : '#808080'));
  /** Discord wants the colour as an integer: `"color": {{severityColorInt alert.severity}}`. */
  hb.registerHelper('severityColorInt', (value: unknown) =>
    safe(String(parseInt((isSeverity(value) ? SEVERITY_COLOR[value] : '#808080').slice(1), 16))),
  );
  hb.registerHelper('typeLabel', (value: unknown) => typeLabel(asText(value)));
  /** `{{alertEmoji alert}}`: ✅ for an alert its source resolved, else the severity's emoji. */
  hb.registerHelper('alertEmoji', (alert: unknown) => (isResolved(alert) ? RESOLVED_EMOJI : severityOf(alert, SEVERITY_EMOJI, '⚪')));
  /** `{{alertColor alert}}` / `{{alertColorInt alert}}`: green for a resolved alert, else the severity's colour. */
  hb.registerHelper('alertColor', (alert: unknown) => (isResolved(alert) ? RESOLVED_HEX : severityOf(alert, SEVERITY_COLOR, '#808080')));
  hb.registerHelper('alertColorInt', (alert: unknown) =>
    safe(String(parseInt((isResolved(alert) ? RESOLVED_HEX : severityOf(alert, SEVERITY_COLOR, '#808080')).slice(1), 16))),
  );
  /** `{{statusWord alert.status}}`: "Firing" / "Resolved" (Alertmanager, Grafana); '' for sources without one. */
  hb.registerHelper('statusWord', (status: unknown) => (status === 'resolved' ? 'Resolved' : status === 'firing' ? 'Firing' : ''));
  hb.registerHelper('formatDate', (epochMs: unknown, ...rest: unknown[]) => {
    const [timeZone] = args(rest);
    return typeof epochMs === 'number' ? formatDate(epochMs, typeof timeZone === 'string' ? timeZone : 'UTC') : asText(epochMs);
  });
  /** ISO-8601 UTC form, for Discord's embed `timestamp`; '' outside years 0001–9999 (omit the timestamp then). */
  hb.registerHelper('isoDate', (epochMs: unknown) => isoDate(epochMs));
  hb.registerHelper('contextFacts', (context: unknown, ...rest: unknown[]) => {
    const [max, length] = args(rest);
    return contextFacts(context as JsonValue, typeof max === 'number' ? max : 10, typeof length === 'number' ? length : 300);
  });
  hb.registerHelper('join', (list: unknown, ...rest: unknown[]) => {
    const [separator] = args(rest);
    return Array.isArray(list) ? list.map(asText).join(typeof separator === 'string' ? separator : ', ') : asText(list);
  });
  hb.registerHelper('default', (...values: unknown[]) => args(values).find((v) => v !== null && v !== undefined && v !== '') ?? '');
  hb.registerHelper('truncate', (value: unknown, max: unknown) => {
    const chars = Array.from(asText(value));
    const limit = typeof max === 'number' ? max : 100;
    return chars.length > limit ? `${chars.slice(0, Math.max(0, limit - 1)).join('')}…` : chars.join('');
  });
  hb.registerHelper('upper', (value: unknown) => asText(value).toUpperCase());
  hb.registerHelper('lower', (value: unknown) => asText(value).toLowerCase());
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
  hb.registerHelper('and', (...values: unknown[]) => args(values).every(Boolean));
  hb.registerHelper('or', (...values: unknown[]) => args(values).some(Boolean));
  hb.registerHelper('not', (value: unknown) => !value);
}
