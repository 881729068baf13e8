/**
 * A render's escaping (render-escaping.ts) writes for every value exactly what defanging, the platform escape and
 * jsonStringContent write one after the other, with its shortcut for text none of them would change, and tells the
 * escape trace the same.
 */
import fc from 'fast-check';
import { DISCORD_ESCAPE_INPUT_MAX, discordEscape, jsonStringContent, SLACK_ESCAPE_INPUT_MAX, slackEscape } from '../src/templates/escape';
import { EscapeTrace, noteDefanged, noteEscapes } from '../src/templates/escape-report';
import { defangUrls } from '../src/templates/links';
import { RenderEscaping } from '../src/templates/render-escaping';
import type { RenderTarget } from '../src/templates/render-target';
import { truncateText } from '../src/templates/truncate';

const OWN = 'https://acme.example/alerts/1';
const root = { alert: { link: OWN, runbook: null, links: [] } };

/** Defang (unless off), platform escape, JSON string body: the path every `{{value}}` takes, step by step. */
function stepByStep(target: RenderTarget, defang: boolean, text: string, trace: EscapeTrace): string {
  if (target === 'console') return jsonStringContent(text);
  const max = target === 'slack' ? SLACK_ESCAPE_INPUT_MAX : DISCORD_ESCAPE_INPUT_MAX;
  const defanged = defang ? defangUrls(truncateText(text, max).text, new Set(['acme.example']), (url) => noteDefanged(trace, url)) : text;
  const escaped = target === 'slack' ? slackEscape(defanged) : discordEscape(defanged);
  noteEscapes(trace, target, defanged, escaped);
  return jsonStringContent(escaped);
}

// What any step acts on, weighted up, around plain words; lengths across escapeMarkdown's 256-character pieces.
const piece = fc.oneof(
  { arbitrary: fc.constantFrom(...'\\`*_~|[]()#->.&<@"\'\n\r\t 0123456789'.split('')), weight: 6 },
  {
    arbitrary: fc.constantFrom('https://evil.example/x', OWN, 'www.evil.example', 'HTTP:', '@everyone', '<@123>', '-# ', '1. ',
      '~~', '||', '\u0000', '\ud800', '😀', 'é', '\u2028', 'plain words '),
    weight: 2,
  },
  { arbitrary: fc.constant('x'.repeat(120)), weight: 1 },
);
const texts = fc.array(piece, { maxLength: 30 }).map((parts) => parts.join(''));

describe.each(['slack', 'discord', 'console'] as const)('%s', (target) => {
  it.each([true, false])('json() is defang, escape and JSON in turn (defang %s), trace included', (defang) => {
    fc.assert(
      fc.property(texts, (text) => {
        const [viaEscaping, viaSteps] = [new EscapeTrace(), new EscapeTrace()];
        expect(new RenderEscaping(target, defang, viaEscaping, root).json(text)).toBe(stepByStep(target, defang, text, viaSteps));
        expect([...viaEscaping.notes]).toEqual([...viaSteps.notes]);
      }),
      { numRuns: 3000 },
    );
  });
});

it('fails closed without an alert: every link is foreign', () => {
  const escaping = new RenderEscaping('slack', true, undefined, {});
  expect(escaping.json(`see ${OWN}`)).toBe('see hxxps://acme[.]example/alerts/1');
  expect(new RenderEscaping('slack', true, undefined, root).json(`see ${OWN}`)).toBe(`see ${OWN}`);
});
