import { slackEscape } from '../src/templates/escape';
import { SLACK_FALLBACK_TEXT, SLACK_PLACEHOLDER, fitSlackMessage } from '../src/templates/fit-slack';
import { SLACK_LIMITS as L } from '../src/templates/limits';
import { DEFAULT_MARKER } from '../src/templates/truncate';
import { slackLimitViolations } from './helpers/limit-violations';

type Obj = Record<string, unknown>;
const HOSTILE = [
  '<!channel>', '<!here|here>', '<!everyone>', '<!subteam^S1>', '<@U012AB3CD>', '<http://evil|bank>', '&lt;!channel&gt;',
  '@everyone', '@here', '[x](http://evil)', '{{7*7}}', 'emoji 😀👍🏽', '> quote', 'x'.repeat(100_000),
  `${'😀'.repeat(1499)}<!channel>`, '<'.repeat(5000),
];

/** All objects anywhere in `v` (depth-first), for whole-payload assertions. */
const objects = (v: unknown): Obj[] =>
  Array.isArray(v) ? v.flatMap(objects) : v && typeof v === 'object' ? [v as Obj, ...Object.values(v).flatMap(objects)] : [];
const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object') Object.values(Object.freeze(v)).forEach(deepFreeze);
  return v;
};
const section = (text: string, extra: Obj = {}): Obj => ({ type: 'section', text: { type: 'mrkdwn', text }, ...extra });
const button = (text: string, extra: Obj = {}): Obj => ({ type: 'button', text: { type: 'plain_text', text }, ...extra });
const actions = (...elements: Obj[]): Obj => ({ type: 'actions', block_id: 'acts', elements });
const blocksOf = (body: Obj): Obj[] => body.blocks as Obj[];

/** What a template does with untrusted alert data: escape it everywhere it lands. */
function alertMessage(data: string): Obj {
  const e = slackEscape(data);
  return {
    channel: 'C1', text: `Alert: ${e}`, link_names: 1,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: e } },
      section(`*Title:* ${e}`),
      { type: 'section', fields: [{ type: 'mrkdwn', text: e }, { type: 'plain_text', text: e }] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: e }] },
      actions(button(e, { url: 'https://panther.example/alerts/1', action_id: 'open' }),
        button('Acknowledge', { action_id: 'ack', value: 'alert-1', style: 'primary' })),
    ],
  };
}

describe('fitSlackMessage with hostile alert data', () => {
  test.each(HOSTILE.map((s) => [s.length > 60 ? `${s.slice(0, 40)}… (${s.length})` : s, s]))('%s', (_, data) => {
    const { body } = fitSlackMessage(alertMessage(data));
    expect(slackLimitViolations(body)).toEqual([]);
    expect(JSON.stringify(body)).not.toMatch(/[<>]/); // the template adds none, so any would be alert data
    for (const o of objects(body).filter((o) => o.type === 'mrkdwn')) expect(o.verbatim).toBe(true);
    expect(body).not.toHaveProperty('link_names');
    expect(body).toMatchObject({ unfurl_links: false, unfurl_media: false, parse: 'none', channel: 'C1' });
    expect(JSON.stringify(body)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/); // no lone surrogate
    expect(JSON.stringify(body).replace(/&(amp|lt|gt);/g, '')).not.toContain('&'); // no cut entity
    expect(blocksOf(body).at(-1)?.type).toBe('actions');
  });
  test('{{7*7}} stays literal', () => {
    expect(JSON.stringify(fitSlackMessage(alertMessage('{{7*7}}')).body)).toContain('{{7*7}}');
  });
});

interface Case { name: string; input: Obj; check: (body: Obj, warnings: string[]) => void }
const cases: Case[] = [
  {
    name: '100k section text is cut visibly to 3000',
    input: { text: 't', blocks: [section('x'.repeat(100_000))] },
    check: (b, w) => {
      const t = (blocksOf(b)[0]!.text as Obj).text as string;
      expect(t).toHaveLength(3000);
      expect(t.endsWith(DEFAULT_MARKER)).toBe(true);
      expect(w).toContain('blocks[0].text.text truncated from 100000 to 3000 characters');
    },
  },
  {
    name: '60 blocks: content dropped from the end, actions kept',
    input: { text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'H' } },
      ...Array.from({ length: 58 }, (_, i) => section(`s${i}`)), actions(button('Ack', { action_id: 'ack' }))] },
    check: (b, w) => {
      expect(blocksOf(b)).toHaveLength(50);
      expect(blocksOf(b)[0]!.type).toBe('header');
      expect(blocksOf(b)[49]!.type).toBe('actions');
      expect(w.join('\n')).toMatch(/dropped 10 blocks/);
    },
  },
  {
    name: '30 fields -> 10, each ≤2000',
    input: { text: 't', blocks: [{ type: 'section', fields: Array.from({ length: 30 }, () => ({ type: 'mrkdwn', text: 'f'.repeat(2500) })) }] },
    check: (b, w) => {
      const fields = blocksOf(b)[0]!.fields as { text: string }[];
      expect(fields).toHaveLength(10);
      expect(fields[9]!.text).toBe('+21 more');
      expect(w.join('\n')).toMatch(/fields: 21 beyond the limit of 10 moved to "\+N more"/);
    },
  },
  {
    name: 'header must be plain_text ≤150',
    input: { text: 't', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'h'.repeat(400) } }] },
    check: (b) => expect(blocksOf(b)[0]!.text).toMatchObject({ type: 'plain_text', text: expect.stringMatching(/^h{137}… \(truncated\)$/) }),
  },
  {
    name: 'buttons: non-http(s) and >3000-char urls dropped, surplus beyond 25 dropped',
    input: { text: 't', blocks: [actions(
      button('js', { url: 'javascript:alert(1)' }), button('data', { url: 'data:text/html,x' }), button('rel', { url: '/x' }),
      button('long', { url: `https://a.example/${'a'.repeat(3000)}` }),
      ...Array.from({ length: 30 }, (_, i) => button(`b${i}`, { action_id: `a${i}`, url: 'https://ok.example' })))] },
    check: (b, w) => {
      const els = blocksOf(b)[0]!.elements as Obj[];
      expect(els).toHaveLength(25);
      expect(els.every((e) => String(e.url).startsWith('https://ok.example'))).toBe(true);
      expect(w.filter((x) => /url is not an http\(s\) URL/.test(x))).toHaveLength(4);
    },
  },
  {
    name: 'actions block with only bad buttons is removed; bad accessory removed',
    input: { text: 't', blocks: [section('s', { accessory: button('x', { url: 'javascript:x' }) }), actions(button('x', { url: 'ftp://x' }))] },
    check: (b) => {
      expect(blocksOf(b)).toHaveLength(1);
      expect(blocksOf(b)[0]).not.toHaveProperty('accessory');
    },
  },
  {
    name: 'button text ≤75, value ≤2000, bad style removed',
    input: { text: 't', blocks: [actions(button('b'.repeat(200), { value: 'v'.repeat(3000), style: 'evil', action_id: 'a' }))] },
    check: (b) => {
      const el = (blocksOf(b)[0]!.elements as Obj[])[0]!;
      expect(((el.text as Obj).text as string).length).toBeLessThanOrEqual(75);
      expect(el.value).toBe('v'.repeat(2000));
      expect(el).not.toHaveProperty('style');
    },
  },
  {
    name: 'empty / whitespace texts get the placeholder',
    input: { text: '  ', blocks: [section(''), section('   '), { type: 'section' }, { type: 'header', text: { type: 'plain_text' } }] },
    check: (b) => {
      for (const blk of blocksOf(b)) expect((blk.text as Obj).text).toBe(SLACK_PLACEHOLDER);
      expect(b.text).toBe(SLACK_PLACEHOLDER); // fallback derived from the first block
    },
  },
  {
    name: 'ids: ≤255 and action_ids unique within a block, block_ids unique',
    input: { text: 't', blocks: [
      { ...actions(button('a', { action_id: 'x'.repeat(300) }), button('b', { action_id: 'x'.repeat(300) }), button('c', { action_id: 'dup' }), button('d', { action_id: 'dup' })), block_id: 'y'.repeat(300) },
      { ...actions(button('e', { action_id: 'dup' })), block_id: 'y'.repeat(300) }] },
    check: (b) => {
      const ids = (blocksOf(b)[0]!.elements as Obj[]).map((e) => e.action_id as string);
      expect(new Set(ids).size).toBe(4);
      expect(ids.every((id) => id.length <= 255)).toBe(true);
      expect(blocksOf(b)[0]!.block_id).not.toBe(blocksOf(b)[1]!.block_id);
    },
  },
  {
    name: 'total block text ≤ budget, longest shrunk first, short text intact',
    input: { text: 't', blocks: [section('keep me'), ...Array.from({ length: 15 }, (_, i) => section(`${i}`.repeat(2999)))] },
    check: (b, w) => {
      expect((blocksOf(b)[0]!.text as Obj).text).toBe('keep me');
      expect(blocksOf(b)).toHaveLength(16);
      expect(w.join('\n')).toMatch(/block text budget/);
    },
  },
  {
    name: 'missing top-level text derived from the first text (plain_text escaped); long text cut to 4000',
    input: { blocks: [{ type: 'header', text: { type: 'plain_text', text: '<!channel> down' } }] },
    check: (b) => expect(b.text).toBe('&lt;!channel&gt; down'),
  },
  { name: 'no blocks, no text', input: { channel: 'C1' }, check: (b) => expect(b.text).toBe(SLACK_FALLBACK_TEXT) },
  {
    name: 'top-level text 5000 -> ≤4000 without splitting an entity',
    input: { text: slackEscape('<'.repeat(1250)) },
    check: (b) => expect((b.text as string).length).toBeLessThanOrEqual(L.topLevelText),
  },
  {
    name: 'garbage shapes are repaired or dropped',
    input: { text: 5, blocks: [null, 5, {}, { type: 'section', text: 'bare <b>' }, { type: 'context', elements: 'x' },
      { type: 'actions' }, { type: 'section', fields: 'nope' }, { type: 'section', text: { type: 'weird', text: ['x'] } }, { type: 'divider' }] },
    check: (b) => {
      expect(blocksOf(b).map((x) => x.type)).toEqual(['section', 'section', 'section', 'divider']);
      expect(blocksOf(b)[0]!.text).toEqual({ type: 'plain_text', text: 'bare <b>' });
      expect(b.text).toBe('5');
    },
  },
  {
    name: 'attachments: blocks fitted too; link_names and parse:full removed',
    input: { text: 't', link_names: true, parse: 'full', attachments: [{ color: 'danger', blocks: [section('a'.repeat(4000))] }, 'junk'] },
    check: (b) => {
      expect(b.attachments).toHaveLength(1);
      expect(b.parse).toBe('none');
    },
  },
];

describe('fitSlackMessage limits', () => {
  test.each(cases)('$name', ({ input, check }) => {
    const before = JSON.stringify(input);
    const { body, warnings } = fitSlackMessage(deepFreeze(input));
    expect(JSON.stringify(input)).toBe(before); // never mutates
    expect(slackLimitViolations(body)).toEqual([]);
    check(body, warnings);
  });
});

describe('slackLimitViolations flags raw inputs', () => {
  test.each<[string, Obj, RegExp]>([
    ['too many blocks', { text: 't', unfurl_links: false, unfurl_media: false, blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }, /51 blocks/],
    ['link_names', { text: 't', link_names: 1, unfurl_links: false, unfurl_media: false }, /link_names/],
    ['unfurls', { text: 't' }, /unfurl_links/],
    ['verbatim', { text: 't', unfurl_links: false, unfurl_media: false, blocks: [section('x')] }, /verbatim/],
    ['long section', { text: 't', unfurl_links: false, unfurl_media: false, blocks: [section('x'.repeat(3001), {})] }, /length 3001/],
    ['bad url', { text: 't', unfurl_links: false, unfurl_media: false, blocks: [actions(button('x', { url: 'javascript:x' }))] }, /url/],
    ['missing text', { unfurl_links: false, unfurl_media: false }, /^text/],
  ])('%s', (_, body, re) => expect(slackLimitViolations(body).join('\n')).toMatch(re));
});
