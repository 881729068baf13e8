/**
 * Rendering is byte-for-byte what it was when test/fixtures/render-golden/golden.json was written: every alert of
 * the corpus (test/helpers/render-corpus.ts: every payload fixture, hostile and ordinary strings in every field) is
 * formatted for Slack, Discord (embed and Components V2 layouts) and the console with every shipped template and a
 * user template that uses every helper and output form, with and without defanging, mentions and an escape trace;
 * and rendered without the sanitiser (engine output as the templates produced it; the shipped default and the user template). Each result's SHA-256 must equal
 * the recorded one. Guards work on the render path's speed: a change in what users receive must be a deliberate one.
 * To record a deliberate change: RENDER_GOLDEN_WRITE=1 npx jest test/render-golden.test.ts, and review why.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../src/config/load';
import type { Alert } from '../src/domain/alert';
import { createFormatters } from '../src/destinations/registry';
import type { FormatContext } from '../src/destinations/types';
import { buildView } from '../src/destinations/view';
import { TemplateEngine } from '../src/templates/engine';
import { EscapeTrace } from '../src/templates/escape-report';
import type { RenderTarget } from '../src/templates/render-target';
import { MENTION_PLACEHOLDER } from '../src/templates/sanitize';
import { renderCorpus } from './helpers/render-corpus';

const DIR = path.join(__dirname, 'fixtures', 'render-golden');
const GOLDEN = path.join(DIR, 'golden.json');
const WRITE = process.env.RENDER_GOLDEN_WRITE === '1';

const loaded = loadConfigText(
  `
slack: { token: xoxb-golden, signingSecret: golden-signing-secret }
discord: { token: discord-golden, publicKey: "${'ab'.repeat(32)}" }
destinations:
  slack: { type: slack, channel: C0123456789 }
  discord: { type: discord, channel: "1100000000000000001" }
  discordv2: { type: discord, channel: "1100000000000000002", layout: v2 }
  console: { type: console }
routes:
  - name: golden
    to: [slack, discord, discordv2, console]
`,
  {},
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const engine = new TemplateEngine(path.join(DIR, 'templates'));
if (engine.problems.length > 0) throw new Error(JSON.stringify(engine.problems));
const formatters = createFormatters(loaded.config, engine);

const TEMPLATES = ['default', 'compact', 'minimal', 'golden'];
const DESTINATIONS: [string, RenderTarget][] = [['slack', 'slack'], ['discord', 'discord'], ['discordv2', 'discord'], ['console', 'console']];
const MENTIONS = { slack: { here: true, groups: ['S0123ABCD'], users: ['U0123ABCD'] }, discord: { here: true, roles: ['123456789012345678'], users: ['223456789012345678'] } };
/** Route options a render can have: plain; defang off with mentions; defang on with mentions; each traced but the first. */
const VARIANTS: Partial<FormatContext>[] = [{}, { defang: false, mentions: MENTIONS }, { mentions: MENTIONS }];
/** The templates rendered in every variant and also without the sanitiser; the other shipped ones plainly formatted. */
const THOROUGH = new Set(['default', 'golden']);

/** JSON of a result, the mention placeholder (random per process) replaced by a fixed token. */
const stable = (value: unknown): string => JSON.stringify(value).split(JSON.stringify(MENTION_PLACEHOLDER).slice(1, -1)).join('<MENTION>');
const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Every result for one alert, keyed `<template>/<destination>` (formatted) or `<template>/<target>/engine`. */
function results(alert: Alert): Record<string, string> {
  const out: Record<string, string> = {};
  for (const template of TEMPLATES) {
    for (const [destination, target] of DESTINATIONS) {
      if (!engine.has(template, target)) continue;
      const variants = THOROUGH.has(template) ? VARIANTS : VARIANTS.slice(0, 1);
      const formatted = variants.map((variant, i) => {
        const trace = i === 0 ? undefined : new EscapeTrace();
        const ctx: FormatContext = { route: 'golden', deliveryKey: 'golden-key', template, ...variant, ...(trace ? { trace } : {}) };
        const message = formatters.get(destination)!.format(alert, ctx);
        return { ...message, notes: trace ? [...trace.notes] : [] };
      });
      out[`${template}/${destination}`] = stable(formatted);
      if (destination === 'discordv2' || !THOROUGH.has(template)) continue;
      const raw = VARIANTS.map((variant, i) => {
        const trace = i === 0 ? undefined : new EscapeTrace();
        const view = buildView(alert, { route: 'golden', deliveryKey: 'k', ...variant }, destination);
        const rendered = engine.render([template], target, view, { ...(trace ? { trace } : {}), defang: variant.defang !== false });
        return { ...rendered, notes: trace ? [...trace.notes] : [] };
      });
      out[`${template}/${target}/engine`] = stable(raw);
    }
  }
  return out;
}

const corpus = renderCorpus();
const recorded: Record<string, Record<string, string>> = WRITE ? {} : (JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as Record<string, Record<string, string>>);

afterAll(() => {
  if (WRITE) fs.writeFileSync(GOLDEN, `${JSON.stringify(recorded, null, 1)}\n`);
});

it('the corpus is the one recorded (no case added or lost)', () => {
  if (WRITE) return;
  expect(corpus.map(([name]) => name)).toEqual(Object.keys(recorded));
});

it.each(corpus)('%s renders as recorded', (name, alert) => {
  const got = results(alert);
  if (WRITE) {
    recorded[name] = Object.fromEntries(Object.entries(got).map(([key, text]) => [key, digest(text)]));
    return;
  }
  const want = recorded[name] ?? {};
  const differing = Object.keys({ ...want, ...got }).filter((key) => got[key] === undefined || digest(got[key]) !== want[key]);
  // The differing outputs themselves, to see what changed (the golden file holds digests only).
  expect(differing.map((key) => ({ key, now: got[key]?.slice(0, 4000) }))).toEqual([]);
});
