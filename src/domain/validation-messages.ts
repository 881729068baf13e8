/**
 * The words of validation messages where a schema has none of its own: zod's fallback ("Invalid input: expected
 * string, received undefined") reads like a stack trace to someone fixing a config file or a webhook payload.
 * Passed per parse (`schema.safeParse(value, { error: plainMessages })`), so it fills in only where a schema set no
 * `error` of its own, and zod stays untouched for every other user in the process.
 */
import type { z } from 'zod';

/** A missing value, in config problems and payload issues alike. */
export const REQUIRED = 'is required';

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return article(typeof value);
}

/**
 * zod error map: "is required" for a missing value, "must be a string, not a number" for a wrong type, "must be one
 * of A, B" for a value outside an enum; zod's own words for the rest.
 */
export const plainMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_value') return issue.input === undefined ? REQUIRED : `must be one of ${issue.values.map(String).join(', ')}`;
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return REQUIRED;
  const expected = issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a map' : article(issue.expected);
  return `must be ${expected}, not ${kindOf(issue.input)}`;
};

/**
 * A schema-level `error` that says "is required (must be …)" when the value is missing and "must be …" when it is
 * there but wrong, so a user who left a key out is told to add it rather than to fix it.
 */
export const requiredOr = (mustBe: string) => (issue: { input?: unknown }) => (issue.input === undefined ? `${REQUIRED} (${mustBe})` : mustBe);
