/**
 * Snapshots of every shipped template on every platform over a fixture set (each type and severity, long and
 * hostile values): a change to what users receive shows up in review as a snapshot diff.
 */
import { TemplateEngine } from '../src/templates/engine';
import { buildView } from '../src/destinations/view';
import { parsePantherPayload } from '../src/sources/panther';
import { fitSlackMessage } from '../src/templates/fit-slack';
import { fitDiscordMessage } from '../src/templates/fit-discord';
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

const engine = new TemplateEngine(undefined);
const templates = ['default', 'compact', 'minimal'];

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
    const view = buildView(parsed.alert, { route: 'snapshot', deliveryKey: 'k' }, 'snapshot');
    const out: Record<string, unknown> = {};
    if (engine.has(template, 'slack')) out.slack = fitSlackMessage({ ...engine.renderStrict(template, 'slack', view), channel: 'C0123456789' });
    if (engine.has(template, 'discord')) out.discord = fitDiscordMessage(engine.renderStrict(template, 'discord', view), { allowInteractive: true });
    if (engine.has(template, 'console')) out.console = engine.renderStrict(template, 'console', view);
    expect(out).toMatchSnapshot();
  });
});
