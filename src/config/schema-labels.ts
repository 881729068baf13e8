/**
 * `match.labels` of a route: label name → exact value, or `{ regex: "…" }` (anchored, checked for catastrophic
 * backtracking at load time; see routing/label-match.ts).
 */
import { z } from 'zod';
import { labelRegexProblem } from '../routing/label-match';

/** Prometheus label names. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const regexCondition = z
  .object({
    regex: z.string({ error: 'must be a regular expression' }).superRefine((pattern, ctx) => {
      const problem = labelRegexProblem(pattern);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  })
  .strict();

export const labelsMatchSchema = z.record(
  z.string().regex(LABEL_NAME, { error: 'must be a label name (letters, digits, "_"; not starting with a digit)' }),
  z.union([
    z.string(),
    // YAML reads `code: 500` as a number: label values are text, so numbers and booleans are taken as their text.
    z.union([z.number(), z.boolean()]).transform(String),
    regexCondition,
  ], { error: 'must be a value ("prod") or { regex: "prod|staging" }' }),
  { error: 'must be a map of label name to value or { regex }' },
);
