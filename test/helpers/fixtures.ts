/**
 * Access to the Panther webhook fixture corpus in test/fixtures/panther (see its README.md) and a factory for fresh
 * valid payloads. Files are read synchronously at call time so `describe.each(Object.entries(validFixtures()))`
 * works at collection time.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parsePantherPayload } from '../../src/sources/panther';
import type { Alert } from '../../src/domain/alert';

/** Absolute path of test/fixtures/panther. */
export const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures', 'panther');

/**
 * A Panther Custom Webhook body as documented (panther-webhook.md §2); optional fields may be null or absent. The
 * fixtures under valid/defaulted/ break this on purpose (missing or mistyped fields the bridge defaults).
 */
export interface PantherPayload {
  id: string;
  createdAt: string;
  severity: string;
  type: string;
  link: string;
  title: string;
  name?: string | null;
  alertId?: string | null;
  alertContext?: Record<string, unknown> | null;
  description?: string | null;
  runbook?: string | null;
  tags?: string[] | null;
  version?: string | null;
}

/** Sibling `<name>.expect.json` of an invalid fixture: the zod-style path of the wrong field (`[]` = body). */
export interface InvalidExpectation {
  path: (string | number)[];
  reason: string;
}

export interface InvalidFixture {
  /** The body exactly as it should be POSTed (may not even be JSON). */
  raw: string;
  expect: InvalidExpectation;
}

/** Raw text of a fixture, `relPath` relative to test/fixtures/panther (e.g. `valid/real/send-test-alert.json`). */
export function loadFixtureText(relPath: string): string {
  return fs.readFileSync(path.join(FIXTURES_DIR, relPath), 'utf8');
}

/** Parsed JSON of a fixture, `relPath` relative to test/fixtures/panther. */
export function loadFixture<T = PantherPayload>(relPath: string): T {
  return JSON.parse(loadFixtureText(relPath)) as T;
}

/** Relative paths (posix separators) of the files under `dir`, sorted for stable test order. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(FIXTURES_DIR, dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/**
 * Every valid fixture, keyed by path under valid/ without `.json` (e.g. `hostile/slack-channel`, `real/send-test-alert`).
 */
export function validFixtures(): Record<string, PantherPayload> {
  const out: Record<string, PantherPayload> = {};
  for (const f of listFiles('valid')) out[f.replace(/\.json$/, '')] = loadFixture(`valid/${f}`);
  return out;
}

/**
 * Every invalid fixture, keyed by path under invalid/ without extension (e.g. `severity-lowercase`,
 * `wrong-type/id-null`), with its raw body text and the expectation of which path is wrong.
 */
export function invalidFixtures(): Record<string, InvalidFixture> {
  const out: Record<string, InvalidFixture> = {};
  for (const f of listFiles('invalid')) {
    if (f.endsWith('.expect.json')) continue;
    const name = f.replace(/\.(json|txt)$/, '');
    out[name] = {
      raw: loadFixtureText(`invalid/${f}`),
      expect: loadFixture<InvalidExpectation>(`invalid/${name}.expect.json`),
    };
  }
  return out;
}

/**
 * The fields each `valid/defaulted/<name>.json` fixture lacks or has malformed, keyed by `defaulted/<name>`: the bridge
 * accepts it and reports exactly these as defaulted (defaulted.expect.json, written by the generator).
 */
export function defaultedExpectations(): Record<string, string[]> {
  const byFile = loadFixture<Record<string, string[]>>('defaulted.expect.json');
  return Object.fromEntries(Object.entries(byFile).map(([name, fields]) => [`defaulted/${name}`, fields]));
}

/** The bytes-variants corpus: file name → exact body text. All parse to the same alert (same alertId). */
export function bytesVariants(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles('bytes-variants')) out[f] = loadFixtureText(`bytes-variants/${f}`);
  return out;
}

/** Attack name → attack string, as placed in every field of valid/hostile/<name>.json. */
export function hostileStrings(): Record<string, string> {
  return loadFixture<Record<string, string>>('hostile-strings.json');
}

/** Overrides for makeAlertPayload; a key set to `undefined` removes that field from the payload. */
export type PayloadOverrides = { [K in keyof PantherPayload]?: PantherPayload[K] | undefined } & Record<string, unknown>;

/**
 * A valid Panther payload with a fresh random 32-hex alertId (so tests never collide in dedup state), in the legacy
 * wire field order. `overrides` are applied last; `undefined` deletes a field.
 */
export function makeAlertPayload(overrides: PayloadOverrides = {}): PantherPayload {
  const alertId = randomBytes(16).toString('hex');
  const base: PantherPayload = {
    id: 'AWS.CloudTrail.RootActivity',
    createdAt: new Date().toISOString(),
    severity: 'HIGH',
    type: 'RULE',
    link: `https://acme.runpanther.net/alerts/${alertId}`,
    title: 'Root account activity detected from [203.0.113.7]',
    name: 'AWS Root Activity',
    alertId,
    alertContext: { sourceIPAddress: '203.0.113.7', eventNames: ['ConsoleLogin'], mfaUsed: false },
    description: 'The root account was used.',
    runbook: 'https://runbooks.example.com/aws/root-activity',
    tags: ['AWS', 'Identity & Access Management'],
    version: 'CJm9PiaXV0q8U0JhoFmE6L21ou7e5Ek0',
  };
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged as unknown as PantherPayload;
}

/** A minimal valid Panther alert, parsed (for store-level tests that need an `Alert`, not a payload). */
export function parsedAlert(overrides: Record<string, unknown> = {}): Alert {
  const parsed = parsePantherPayload({
    id: 'Rule.X',
    createdAt: '2024-01-01T00:00:00Z',
    severity: 'HIGH',
    type: 'RULE',
    link: 'https://x.example/alerts/1',
    title: 'Title',
    alertId: 'abc',
    ...overrides,
  });
  if (!parsed.ok) throw new Error(`bad fixture: ${JSON.stringify(parsed.issues)}`);
  return parsed.alert;
}
