/**
 * Silences from chat (Alertmanager and Grafana alerts), the pure part: durations, the matchers a silence gets from
 * the alert's labels, the comment that names the bridge and the message, the "new silence" page links used when no
 * API is configured, the ids the Silence menu and the Unsilence button carry, and what a message shows of a silence.
 */
import type { Alert } from '../domain/alert';
import { clockTime, type SilenceView, type TriageActor, type TriageAllowList } from './state';

/** The sources whose alerts can be silenced: both speak Alertmanager's API v2. */
export const SILENCEABLE_SOURCES = ['alertmanager', 'grafana'] as const;
export type SilenceableSource = (typeof SILENCEABLE_SOURCES)[number];

export const isSilenceable = (source: string): source is SilenceableSource => (SILENCEABLE_SOURCES as readonly string[]).includes(source);

/** Durations offered when the config names none: 1 h, 4 h, 24 h. */
export const DEFAULT_SILENCE_DURATIONS_MS: readonly number[] = [3_600_000, 14_400_000, 86_400_000];

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "30m", "4h", "2d" → ms; null for anything else. */
export function parseSilenceDuration(text: string): number | null {
  const m = /^\s*(\d{1,6})\s*(m|h|d)\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? ms : null;
}

/** "30 min", "1 h", "1 h 30 min", "24 h", "2 d", "2 d 12 h": short, for menu options and state lines (days from 48 h). */
export function durationLabel(ms: number): string {
  const useDays = ms >= 2 * UNIT_MS.d;
  const days = useDays ? Math.floor(ms / UNIT_MS.d) : 0;
  const hours = Math.floor((ms - days * UNIT_MS.d) / UNIT_MS.h);
  const minutes = Math.round((ms % UNIT_MS.h) / UNIT_MS.m);
  const parts = [days ? `${days} d` : '', hours ? `${hours} h` : '', minutes ? `${minutes} min` : ''].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : '0 min';
}

/** One Alertmanager matcher, as API v2 takes it: always literal and equal (the alert's own label values). */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: false;
  isEqual: true;
}

/** Which labels a silence matches on: all of the alert's labels, or the named ones. */
export type MatcherChoice = 'all' | readonly string[];

/**
 * The matchers of a silence for `labels`, sorted by name: every label, or the named ones. A named label the alert
 * does not have is matched as empty (`instance=""`), which in Alertmanager means "has no such label": the silence
 * stays exactly as narrow as configured instead of widening to every alert that lacks it.
 */
export function silenceMatchers(labels: Readonly<Record<string, string>>, choice: MatcherChoice): SilenceMatcher[] {
  const names = choice === 'all' ? Object.keys(labels) : [...new Set(choice)];
  return names.sort().map((name) => ({ name, value: Object.prototype.hasOwnProperty.call(labels, name) ? labels[name]! : '', isRegex: false, isEqual: true }));
}

/** A matcher list Alertmanager accepts: at least one matcher, and one that does not match the empty label. */
export const matchersUsable = (matchers: readonly SilenceMatcher[]): boolean => matchers.some((m) => m.value !== '');

const CLASSIC_LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A JSON string literal: Alertmanager's UI writes quoted values so and decodes them with a JSON string decoder. */
const quoted = (text: string) => JSON.stringify(text);

/** `{alertname="X",instance="a:1"}`: Alertmanager's matcher syntax (names quoted unless classic, values always). */
export function matcherFilter(matchers: readonly SilenceMatcher[]): string {
  return `{${matchers.map((m) => `${CLASSIC_LABEL_NAME.test(m.name) ? m.name : quoted(m.name)}=${quoted(m.value)}`).join(',')}}`;
}

/** Longest alert title written into a silence's comment (the whole alert is in the bridge's ledger). */
const COMMENT_TITLE_MAX = 200;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const PLATFORM_LABEL = { slack: 'Slack', discord: 'Discord' } as const;

/**
 * The comment of a silence created from chat: the bridge, who and for how long, the alert (title and fingerprint)
 * and the message clicked (its link when the platform's payload allows one, else destination and delivery id).
 */
export function silenceComment(input: { actor: TriageActor; durationMs: number; alert: Pick<Alert, 'title' | 'fingerprint'>; destination: string; deliveryId: number; messageUrl?: string }): string {
  const { actor, alert } = input;
  const message = input.messageUrl ?? `delivery ${input.deliveryId} to ${input.destination}`;
  return (
    `Silenced for ${durationLabel(input.durationMs)} from ${PLATFORM_LABEL[actor.platform]} by @${actor.name} (${actor.id}) with chatops-bridge. ` +
    `Alert: "${clip(alert.title, COMMENT_TITLE_MAX)}"${alert.fingerprint ? ` (fingerprint ${alert.fingerprint})` : ''}. Message: ${message}`
  );
}

/**
 * Links to the source's own "new silence" page with the matchers filled in, best first (with a comment, then
 * without, so a platform with a short URL limit still gets one): Alertmanager's `#/silences/new?filter=…`, Grafana's
 * `alerting/silence/new?alertmanager=grafana&matcher=…`. Empty when the alert carries no external URL or no usable
 * matchers.
 */
export function silenceFormLinks(alert: Pick<Alert, 'source'> & Partial<Pick<Alert, 'title' | 'fingerprint' | 'group'>>, matchers: readonly SilenceMatcher[]): string[] {
  const root = alert.group?.externalURL ?? '';
  if (root === '' || !matchersUsable(matchers) || !isSilenceable(alert.source)) return [];
  const base = root.endsWith('/') ? root : `${root}/`;
  const comment = `chatops-bridge: "${clip(alert.title ?? '', 100)}"${alert.fingerprint ? ` (fingerprint ${alert.fingerprint})` : ''}`;
  const link = (withComment: boolean): string => {
    if (alert.source === 'alertmanager') {
      return `${base}#/silences/new?filter=${encodeURIComponent(matcherFilter(matchers))}${withComment ? `&comment=${encodeURIComponent(comment)}` : ''}`;
    }
    const params = new URLSearchParams({ alertmanager: 'grafana' });
    for (const m of matchers) params.append('matcher', `${m.name}=${m.value}`);
    if (alert.group?.orgId !== undefined) params.set('orgId', String(alert.group.orgId));
    if (withComment) params.set('comment', comment);
    return `${base}alerting/silence/new?${params.toString()}`;
  };
  return [link(true), link(false)];
}

// ---- What the messages carry --------------------------------------------------------------------------------

/** Discord select `custom_id` / Slack option value prefix of the Silence menu, and the Unsilence button's. */
const MENU_PREFIX = 'sl';
const UNSILENCE_PREFIX = 'su';

/** Discord: the select's custom_id `sl:<deliveryId>`; each option's value is the duration in ms. */
export const silenceMenuId = (deliveryId: number): string => `${MENU_PREFIX}:${deliveryId}`;
/** Slack: each option's value `sl:<durationMs>:<deliveryId>` (Slack sends the chosen option's value only). */
export const silenceOptionValue = (deliveryId: number, durationMs: number): string => `${MENU_PREFIX}:${durationMs}:${deliveryId}`;
/** Both platforms: the Unsilence button's id `su:<deliveryId>`. */
export const unsilenceButtonId = (deliveryId: number): string => `${UNSILENCE_PREFIX}:${deliveryId}`;

/** What a Silence-menu choice or an Unsilence click asks for. */
export type SilenceRequest = { kind: 'silence'; deliveryId: number; durationMs: number } | { kind: 'unsilence'; deliveryId: number };

const ID = '(\\d{1,15})';

/** Parses a Slack option value, or a Discord custom_id with the select's chosen value. Null when it is not ours. */
export function parseSilenceRequest(id: unknown, chosen?: unknown): SilenceRequest | null {
  if (typeof id !== 'string') return null;
  let m = new RegExp(`^${UNSILENCE_PREFIX}:${ID}$`).exec(id);
  if (m) return { kind: 'unsilence', deliveryId: Number(m[1]) };
  m = new RegExp(`^${MENU_PREFIX}:${ID}:${ID}$`).exec(id);
  if (m) return { kind: 'silence', durationMs: Number(m[1]), deliveryId: Number(m[2]) };
  m = new RegExp(`^${MENU_PREFIX}:${ID}$`).exec(id);
  if (m && typeof chosen === 'string' && /^\d{1,15}$/.test(chosen)) return { kind: 'silence', durationMs: Number(chosen), deliveryId: Number(m[1]) };
  return null;
}

// ---- State ----------------------------------------------------------------------------------------------------

/** "18:00 UTC", with the date when the silence ends on another day than `from`. */
function until(endsAt: number, from: number): string {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return day(endsAt) === day(from) ? clockTime(endsAt) : `${day(endsAt)} ${clockTime(endsAt)}`;
}

/** The state lines of a silence (plain text; the caller escapes). Names are text, never mentions. */
export function silenceLines(view: SilenceView): string[] {
  const started = view.endsAt - view.durationMs;
  const silenced = `Silenced by @${view.by.name} until ${until(view.endsAt, started)}`;
  const retrying = (what: string) => `${what} failed: ${view.error ?? 'unknown error'}`;
  switch (view.state) {
    case 'creating':
      return [`Silence for ${durationLabel(view.durationMs)} requested by @${view.by.name}`, ...(view.error ? [`${retrying('Silence')} (retrying)`] : [])];
    case 'active':
      return [silenced, ...(view.error ? [retrying('Unsilence')] : [])];
    case 'expiring':
      return [silenced, `Unsilence requested by @${view.unsilencedBy?.name ?? 'unknown'}`, ...(view.error ? [`${retrying('Unsilence')} (retrying)`] : [])];
    case 'expired':
      return [`Unsilenced by @${view.unsilencedBy?.name ?? 'unknown'}${view.unsilencedAt === undefined ? '' : ` at ${clockTime(view.unsilencedAt)}`} (silenced by @${view.by.name})`];
    case 'ended':
      return [`Silence by @${view.by.name} ended at ${until(view.endsAt, started)}`];
    case 'failed':
      return [retrying('Silence')];
  }
}

/** Which control a message shows: the Silence menu (or link), the Unsilence button, or none (a call is under way). */
export function silenceControl(view: SilenceView | undefined): 'menu' | 'unsilence' | 'none' {
  if (!view || view.state === 'expired' || view.state === 'ended' || view.state === 'failed') return 'menu';
  return view.state === 'expiring' ? 'none' : 'unsilence';
}

/** A source's Silence settings, as the clicks and the renderers use them (from `sources.<name>.silence`/`api`). */
export interface SilencePolicy {
  source: SilenceableSource;
  /** An API is configured: the menu creates silences; otherwise the control is a link to the source's form. */
  api: boolean;
  durationsMs: readonly number[];
  matchers: MatcherChoice;
  /** Who may silence; absent: the route's triage allow list. */
  allow?: TriageAllowList;
}

/** What `format()` needs to draw a message's silence control and state. */
export interface SilenceRenderContext {
  /** Interactive menu (the source's API is configured); the platform's interactivity decides the rest. */
  menu: boolean;
  durationsMs: readonly number[];
  /** The "new silence" page links, best first (see {@link silenceFormLinks}). */
  links: readonly string[];
}
