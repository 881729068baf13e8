/**
 * Durations as people write them in config and on the command line: a whole number and one unit, `45s`, `15m`,
 * `12h`, `30d`. One parser for both, so `outbox purge --older-than` and `escalate.after` read the same words.
 */

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** What {@link parseDuration} accepts (also the JSON schema's pattern for config durations). */
export const DURATION_PATTERN = /^\s*\d+\s*[smhd]\s*$/;

/** "30d", "12h", "90m", "45s" → milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : null;
}

/**
 * A duration for a message line: "45 s", "15 min", "2 h", "1 h 30 min", "3 d" — the largest unit, plus minutes
 * under a whole number of hours (rounded down to what the unit shows; never "0 s" for a positive duration).
 */
export function durationWords(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${Math.max(seconds, ms > 0 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 48 && hours % 24 === 0) return `${hours / 24} d`;
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
