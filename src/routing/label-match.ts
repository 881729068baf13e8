/**
 * Label conditions of routes (`match.labels`): equality or an anchored regex, as in Alertmanager's matchers.
 * The regex is configuration, the label value is attacker-influenced input: patterns are checked for nested
 * quantifiers when the config loads, compiled once, and never run on values longer than {@link MAX_REGEX_INPUT}.
 */
import safeRegex from 'safe-regex2';

/** A label condition: the exact value, or `{ regex }` matched against the whole value. */
export type LabelCondition = string | { regex: string };

/** Longest pattern accepted in the config. */
export const MAX_REGEX_LENGTH = 512;
/** Longer label values never match a regex condition (equality still works): bounds the matching time. */
export const MAX_REGEX_INPUT = 256;

const compiled = new Map<string, RegExp>();

/** Why `pattern` is refused as a label regex, or null when it is fine. */
export function labelRegexProblem(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `must be at most ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
  // Star height > 1 ((a+)+, (a|a)*) backtracks exponentially on a crafted label value.
  if (!safeRegex(pattern)) return 'may take exponential time on a crafted label value (nested or too many quantifiers); simplify it';
  return null;
}

/** The anchored regex of a pattern, compiled once per pattern for the life of the process. */
function regexFor(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    // Anchored like Prometheus/Alertmanager matchers: `db-.*` must match the whole value.
    regex = new RegExp(`^(?:${pattern})$`, 'u');
    compiled.set(pattern, regex);
  }
  return regex;
}

/** True when `value` (undefined: label absent, which matches only "") satisfies `condition`. */
export function labelMatches(value: string | undefined, condition: LabelCondition): boolean {
  const text = value ?? '';
  if (typeof condition === 'string') return text === condition;
  if (text.length > MAX_REGEX_INPUT) return false;
  return regexFor(condition.regex).test(text);
}

/** `name="value"` / `name=~"regex"` for explain output. */
export function describeLabelCondition(name: string, condition: LabelCondition): string {
  return typeof condition === 'string' ? `${name}=${JSON.stringify(condition)}` : `${name}=~${JSON.stringify(condition.regex)}`;
}
