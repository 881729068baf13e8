/**
 * What Alertmanager and Grafana payloads share: liberal label maps, Go timestamps, label fingerprints, severity
 * from a label, links resolved against the external URL, and the episode/dedup keys that tie a resolved alert to
 * the message of its firing one.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../domain/alert';
import { toWellFormed } from './panther';
import { noteDefault } from './payload-defaults';

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A label or annotation map as senders really emit it: absent or `null` is {}, `null` values are dropped. Kept
 * and noted as a default of `field`: non-string scalars as their text, nested values as their JSON text, and a
 * map that is no map at all (a list, a string) as {}.
 */
export function labelMap(field: string) {
  return z.unknown().optional().transform((map) => {
    const out: Record<string, string> = {};
    if (map === undefined || map === null) return out;
    if (!isObject(map)) {
      noteDefault(field);
      return out;
    }
    for (const [name, value] of Object.entries(map)) {
      if (value === null) continue;
      if (typeof value !== 'string') noteDefault(field);
      const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
      // defineProperty: a "__proto__" label from JSON.parse stays an ordinary key.
      Object.defineProperty(out, toWellFormed(name), { value: toWellFormed(text), enumerable: true, writable: true, configurable: true });
    }
    return out;
  });
}

/** Go's zero time, which Alertmanager writes as `endsAt` of a firing alert. */
const GO_ZERO_TIME = /^0001-01-01T00:00:00(?:\.0+)?Z$/;

/** True for Go's zero time (an unset time.Time), which says "no time" rather than a time. */
export const isGoZeroTime = (value: string): boolean => GO_ZERO_TIME.test(value);

/** Epoch ms of an RFC 3339 timestamp (any fraction, `Z` or offset), or null for Go's zero time and junk. */
export function parseGoTime(value: string | null | undefined): number | null {
  if (!value || GO_ZERO_TIME.test(value)) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i.test(value)) return null;
  // Date.parse takes at most millisecond precision; Go writes up to nanoseconds.
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : ms;
}

/**
 * An RFC 3339 timestamp field as sent, or null when absent. Text that is no timestamp is kept (it still tells one
 * episode from another in the episode key) and noted as a default of `field`: the alert then shows the receipt
 * time. A value that is not text at all is null, noted.
 */
export function goTime(field: string) {
  return z.unknown().optional().transform((value): string | null => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'string' && (GO_ZERO_TIME.test(value) || parseGoTime(value) !== null)) return value;
    noteDefault(field);
    return typeof value === 'string' ? value : null;
  });
}

/**
 * The label-set fingerprint Prometheus computes (FNV-1a 64 over sorted name/value pairs, 0xff separated), as
 * 16 hex digits: for senders older than Alertmanager 0.20 that send none, the derived one equals what a newer
 * Alertmanager would have sent for the same labels.
 */
export function labelFingerprint(labels: Record<string, string>): string {
  const prime = 1099511628211n;
  const mask = 0xffffffffffffffffn;
  let hash = 14695981039346656037n;
  const add = (bytes: Uint8Array) => {
    for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * prime) & mask;
  };
  const separator = new Uint8Array([0xff]);
  for (const name of Object.keys(labels).sort()) {
    add(Buffer.from(name, 'utf8'));
    add(separator);
    add(Buffer.from(labels[name]!, 'utf8'));
    add(separator);
  }
  return hash.toString(16).padStart(16, '0');
}

/** How a label value becomes a severity: `label` names it, `map` (lower-case values) decides, else `default`. */
export interface SeverityMapping {
  label: string;
  map: Record<string, Severity>;
  default: Severity;
}

/** The mapping when the config names none (Alertmanager convention: critical / warning / info …). */
export const DEFAULT_SEVERITY_MAP: Record<string, Severity> = {
  critical: 'CRITICAL',
  error: 'HIGH',
  high: 'HIGH',
  warning: 'MEDIUM',
  info: 'INFO',
  none: 'LOW',
};

export const DEFAULT_SEVERITY_MAPPING: SeverityMapping = { label: 'severity', map: DEFAULT_SEVERITY_MAP, default: 'MEDIUM' };

/** Severity of a label set: the mapped value of the severity label (case-insensitive, trimmed), else the default. */
export function severityFromLabels(labels: Record<string, string>, mapping: SeverityMapping = DEFAULT_SEVERITY_MAPPING): Severity {
  const value = labels[mapping.label];
  if (value === undefined) return mapping.default;
  const key = value.trim().toLowerCase();
  const mapped = Object.prototype.hasOwnProperty.call(mapping.map, key) ? mapping.map[key] : undefined;
  if (mapped) return mapped;
  // An upper-case severity word ("HIGH") is understood as itself.
  const upper = value.trim().toUpperCase();
  return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : mapping.default;
}

/** `url` as an absolute http(s) URL: as is, or resolved against `base` when relative; null otherwise. */
export function absoluteHttpUrl(url: string | null | undefined, base?: string | null): string | null {
  const text = url?.trim();
  if (!text) return null;
  const parse = (value: string, against?: string) => {
    try {
      const parsed = against === undefined ? new URL(value) : new URL(value, against);
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '' ? parsed.href : null;
    } catch {
      return null;
    }
  };
  const absolute = parse(text);
  if (absolute) return absolute;
  // Relative to the external URL (a relative generatorURL from a Prometheus without --web.external-url), but only
  // when the text does not already name a scheme ("javascript:…" must stay refused).
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return null;
  const root = base ? parse(base) : null;
  return root ? parse(text, root.endsWith('/') ? root : `${root}/`) : null;
}

/** Tags of a label set: `name=value`, sorted, so tag conditions of routes work for every source. */
export function labelTags(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Key of one firing episode of a label set: fingerprint + startsAt (as sent). */
export function episodeKey(source: string, fingerprint: string, startsAt: string): string {
  return sha256(`${source}\u0000${fingerprint}\u0000${startsAt}`);
}

/** Dedup key of one state of an episode: a re-sent firing (repeat_interval, retries) collides, resolved does not. */
export function episodeDedupKey(episode: string, status: string): string {
  return sha256(`${episode}\u0000${status}`);
}

/** Non-empty trimmed text or null. */
export const nonBlank = (value: string | null | undefined): string | null => (value === undefined || value === null || value.trim() === '' ? null : toWellFormed(value));
