/**
 * Snapshots of every shipped template on every platform over a fixture set (each type and severity, long and
 * hostile values): a change to what users receive shows up in review as a snapshot diff. Each snapshot is the
 * destination's `format()` output — rendered, sanitised, fitted, with the fields the destination adds — which is
 * the body the worker sends (the console's and `render`'s tests compare it with what the fakes receive).
 */
import { loadConfigText } from '../src/config/load';
import { createFormatters } from '../src/destinations/registry';
import { parsePantherPayload } from '../src/sources/panther';
import { TemplateEngine } from '../src/templates/engine';
import type { RenderTarget } from '../src/templates/render-target';
import { loadFixture } from './helpers/fixtures';

const FIXTURES = [
  'valid/real/send-test-alert.json',
  'valid/real/seed-docs-example.json',
  'valid/hostile/all-attacks-every-field.json',
  'valid/long/everything-long.json',
  'valid/nulls/all-nullable-null.json',
];
const SEVERITIES = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const TYPES = ['RULE', 'RULE_ERROR', 'POLICY', 'SCHEDULED_RULE', 'SYSTEM_ERROR', 'BRAND_NEW_TYPE'];

// Interactivity on for both platforms (signing secret, public key), so buttons a template writes are kept.
const loaded = loadConfigText(
  `
slack: { token: xoxb-snapshot, signingSecret: snapshot-signing-secret }
discord: { token: discord-snapshot, publicKey: "${'ab'.repeat(32)}" }
destinations:
  slack: { type: slack, channel: C0123456789 }
  discord: { type: discord, channel: "1100000000000000001" }
  console: { type: console }
routes:
  - name: snapshot
    to: [slack, discord, console]
`,
  {},
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
// The shipped templates only (no user directory).
const engine = new TemplateEngine(undefined);
const formatters = createFormatters(loaded.config, engine);
const templates = ['default', 'compact', 'minimal'];
const PLATFORMS: RenderTarget[] = ['slack', 'discord', 'console'];

function cases(): [string, Record<string, unknown>][] {
  const base = loadFixture<Record<string, unknown>>('valid/real/seed-docs-example.json');
  return [
    ...FIXTURES.map((f): [string, Record<string, unknown>] => [f, loadFixture<Record<string, unknown>>(f)]),
    ...SEVERITIES.map((severity): [string, Record<string, unknown>] => [`severity ${severity}`, { ...base, severity }]),
    ...TYPES.map((type): [string, Record<string, unknown>] => [`type ${type}`, { ...base, type }]),
  ];
}

describe.each(templates)('shipped template %s', (template) => {
  it.each(cases())('%s', (_name, payload) => {
    const parsed = parsePantherPayload(payload);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const out: Record<string, unknown> = {};
    for (const platform of PLATFORMS) {
      // The destination named after its platform; a template without a variant for it is not snapshotted there.
      if (engine.has(template, platform)) out[platform] = formatters.get(platform)!.format(parsed.alert, { route: 'snapshot', deliveryKey: 'k', template });
    }
    expect(out).toMatchSnapshot();
  });
});
