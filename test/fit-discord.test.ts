import { discordEscape } from '../src/templates/escape';
import { DISCORD_PLACEHOLDER, fitDiscordMessage, isDiscordTimestamp } from '../src/templates/fit-discord';
import { DISCORD_LIMITS as L } from '../src/templates/limits';
import { DEFAULT_MARKER } from '../src/templates/truncate';
import { discordLimitViolations } from './helpers/limit-violations';

type Obj = Record<string, unknown>;
const HOSTILE = [
  '@everyone', '@here', '<@80351110224678912>', '<@!80351110224678912>', '<@&165511591545143296>', '<#103735883630395392>',
  '</ban:1>', '<t:1700000000:R>', '[https://bank.example](https://evil.example)', '[a](http://x) [b](http://y)', '> quote',
  '>>> quote', '-# sub', '# h', '**b** ||s|| `c`', '<!channel>', '{{7*7}}', 'emoji 😀👍🏽', 'y'.repeat(100_000),
  `${'😀'.repeat(2000)}@everyone`, '\\'.repeat(5000), '@'.repeat(3000) + 'everyone',
];
const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object') Object.values(Object.freeze(v)).forEach(deepFreeze);
  return v;
};
const link = (label: string, url: string, extra: Obj = {}): Obj => ({ type: 2, style: 5, label, url, ...extra });
const ack = (custom_id: string, extra: Obj = {}): Obj => ({ type: 2, style: 1, label: 'Acknowledge', custom_id, ...extra });
const row = (...components: Obj[]): Obj => ({ type: 1, components });
const embedsOf = (b: Obj): Obj[] => b.embeds as Obj[];
const rowsOf = (b: Obj): Obj[] => (b.components as Obj[] | undefined) ?? [];

/** What a template does with untrusted data: discordEscape everywhere it lands. */
function alertMessage(data: string): Obj {
  const e = discordEscape(data);
  return {
    content: e,
    embeds: [{ title: e, description: e, url: 'https://panther.example/a/1', color: 0xff0000,
      fields: [{ name: e, value: e, inline: true }], footer: { text: e }, author: { name: e } }],
    components: [row(link('Open', 'https://panther.example/a/1'), ack('ack:1'))],
  };
}

describe('fitDiscordMessage with hostile alert data', () => {
  test.each(HOSTILE.map((s) => [s.length > 60 ? `${s.slice(0, 30)}… (${s.length})` : s, s]))('%s', (_, data) => {
    const { body } = fitDiscordMessage(alertMessage(data), { allowInteractive: true });
    expect(discordLimitViolations(body, { allowInteractive: true })).toEqual([]);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    const json = JSON.stringify(body);
    expect(json).not.toMatch(/<[@#/]|<t:|@everyone|@here/);
    expect(json).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    for (const s of [body.content, embedsOf(body)[0]!.title, embedsOf(body)[0]!.description] as string[]) {
      expect(s.length).toBeGreaterThan(0);
      // no dangling backslash escape in front of a truncation marker
      if (s.endsWith(DEFAULT_MARKER)) expect((/\\*$/.exec(s.slice(0, -DEFAULT_MARKER.length))?.[0] ?? '').length % 2).toBe(0);
    }
  });
});

interface Case { name: string; input: Obj; interactive?: boolean; check: (b: Obj, w: string[]) => void }
const cases: Case[] = [
  { name: 'allowed_mentions added', input: { content: 'x' }, check: (b) => expect(b.allowed_mentions).toEqual({ parse: [] }) },
  {
    name: 'allowed_mentions parse:[everyone, users] forced to []',
    input: { content: 'x', allowed_mentions: { parse: ['everyone', 'users', 'roles'], replied_user: true } },
    check: (b, w) => {
      expect(b.allowed_mentions).toEqual({ parse: [] });
      expect(w.join()).toMatch(/allowed_mentions replaced/);
    },
  },
  {
    name: 'explicit users/roles allow-list kept (snowflakes only, ≤100)',
    input: { content: 'x', allowed_mentions: { parse: ['everyone'], users: ['80351110224678912', 'everyone', 42, '1', ...Array.from({ length: 150 }, (_, i) => String(10n ** 17n + BigInt(i)))], roles: ['165511591545143296'] } },
    check: (b) => {
      const am = b.allowed_mentions as { parse: unknown[]; users: string[]; roles: string[] };
      expect(am.parse).toEqual([]);
      expect(am.users).toHaveLength(100);
      expect(am.users[0]).toBe('80351110224678912');
      expect(am.roles).toEqual(['165511591545143296']);
    },
  },
  {
    name: '100k content cut to 2000 with marker',
    input: { content: 'c'.repeat(100_000) },
    check: (b, w) => {
      expect(b.content).toBe('c'.repeat(2000 - DEFAULT_MARKER.length) + DEFAULT_MARKER);
      expect(w).toContain('content truncated from 100000 to 2000 characters');
    },
  },
  {
    name: '12 embeds -> 10; 30 fields -> 25; per-field limits',
    input: { embeds: Array.from({ length: 12 }, () => ({ title: 't'.repeat(300), fields: Array.from({ length: 30 }, () => ({ name: 'n'.repeat(300), value: 'v'.repeat(2000) })) })) },
    check: (b) => {
      expect(embedsOf(b)).toHaveLength(10);
      for (const e of embedsOf(b)) expect((e.fields as Obj[]).length).toBeLessThanOrEqual(25);
    },
  },
  {
    name: '6000 total: longest shrunk first, titles intact',
    input: { embeds: Array.from({ length: 10 }, (_, i) => ({ title: `Alert ${i}`, description: 'd'.repeat(4096) })) },
    check: (b, w) => {
      expect(embedsOf(b).map((e) => e.title)).toEqual(Array.from({ length: 10 }, (_, i) => `Alert ${i}`));
      expect(embedsOf(b).every((e) => String(e.description).endsWith(DEFAULT_MARKER))).toBe(true);
      expect(w.join('\n')).toMatch(/embed total/);
    },
  },
  {
    name: 'color normalised, bad urls removed, blank strings handled',
    input: { embeds: [
      { title: '  ', description: ' x ', color: '#00ff00', url: 'javascript:alert(1)', author: { name: '', url: 'data:x', icon_url: 'attachment://a.png' }, footer: { text: '   ' }, fields: [{ name: '', value: '' }], image: { url: 'ftp://x' } },
      { description: 'y', color: -1 }, { description: 'z', color: 0x1000000 }, { description: 'w', color: 1.5 }, {}] },
    check: (b) => {
      const [e0, e1, e2, e3, e4] = embedsOf(b);
      expect(e0).toEqual({ description: 'x', color: 0x00ff00, author: { name: DISCORD_PLACEHOLDER, icon_url: 'attachment://a.png' },
        footer: { text: DISCORD_PLACEHOLDER }, fields: [{ name: DISCORD_PLACEHOLDER, value: DISCORD_PLACEHOLDER }] });
      for (const e of [e1, e2, e3]) expect(e).not.toHaveProperty('color');
      expect(e4).toEqual({ description: DISCORD_PLACEHOLDER });
    },
  },
  {
    name: '7 action rows -> 5, 7 buttons -> 5',
    input: { content: 'x', components: Array.from({ length: 7 }, (_, r) => row(...Array.from({ length: 7 }, (__, i) => link(`l${i}`, `https://x.example/${r}/${i}`)))) },
    check: (b, w) => {
      expect(rowsOf(b)).toHaveLength(5);
      for (const r of rowsOf(b)) expect(r.components).toHaveLength(5);
      expect(w.join('\n')).toMatch(/dropped 2 action rows/);
    },
  },
  {
    name: 'link buttons: custom_id, bad or >512 url dropped; label ≤80',
    input: { content: 'x', components: [row(link('a', 'https://ok.example', { custom_id: 'x' }), link('b', 'javascript:x'),
      link('c', `https://x.example/${'a'.repeat(600)}`), link('L'.repeat(200), 'https://ok.example/2'))] },
    check: (b) => {
      const [only] = rowsOf(b)[0]!.components as Obj[];
      expect(rowsOf(b)[0]!.components).toHaveLength(1);
      expect(only!.url).toBe('https://ok.example/2');
      expect(String(only!.label).length).toBeLessThanOrEqual(L.buttonLabel);
    },
  },
  {
    name: 'interactive buttons dropped for plain webhooks (row removed when empty)',
    interactive: false,
    input: { content: 'x', components: [row(ack('ack:1')), row(link('Open', 'https://ok.example'), ack('ack:2'))] },
    check: (b, w) => {
      expect(rowsOf(b)).toEqual([row(link('Open', 'https://ok.example'))]);
      expect(w.filter((x) => /plain webhook/.test(x))).toHaveLength(2);
    },
  },
  {
    name: 'interactive buttons kept for bots; custom_id 1..100 and unique',
    interactive: true,
    input: { content: 'x', components: [row(ack('ack:1'), ack('ack:1'), ack(''), ack('i'.repeat(101)), ack('ok', { url: 'https://x.example' }), { type: 3, custom_id: 's' })] },
    check: (b) => expect(rowsOf(b)).toEqual([row(ack('ack:1'))]),
  },
  {
    name: 'garbage shapes, tts, components-v2 flag, long nonce',
    input: { tts: true, flags: (1 << 15) | 4, nonce: 'n'.repeat(40), embeds: 'nope', components: [null, { type: 9 }, row()] },
    check: (b) => {
      expect(b).not.toHaveProperty('tts');
      expect(b.flags).toBe(4);
      expect(String(b.nonce)).toHaveLength(25);
      expect(b.embeds).toEqual([]);
      expect(b).not.toHaveProperty('components');
      expect(b.content).toBe(DISCORD_PLACEHOLDER); // otherwise an empty message (400)
    },
  },
  {
    name: 'astral characters at the cut point stay whole',
    input: { content: '😀'.repeat(1500) },
    check: (b) => expect(String(b.content)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/),
  },
];

describe('fitDiscordMessage limits', () => {
  test.each(cases)('$name', ({ input, interactive, check }) => {
    const before = JSON.stringify(input);
    const { body, warnings } = fitDiscordMessage(deepFreeze(input), { allowInteractive: interactive ?? true });
    expect(JSON.stringify(input)).toBe(before); // never mutates
    expect(discordLimitViolations(body, { allowInteractive: interactive ?? true })).toEqual([]);
    expect(body.allowed_mentions).toMatchObject({ parse: [] });
    check(body, warnings);
  });
});

describe('discordLimitViolations flags raw inputs', () => {
  test.each<[string, Obj, RegExp]>([
    ['no allowed_mentions', { content: 'x' }, /allowed_mentions/],
    ['parse everyone', { content: 'x', allowed_mentions: { parse: ['everyone'] } }, /allowed_mentions/],
    ['content 2001', { content: 'x'.repeat(2001), allowed_mentions: { parse: [] } }, /content length 2001/],
    ['total 6000', { allowed_mentions: { parse: [] }, embeds: [{ description: 'd'.repeat(4096) }, { description: 'd'.repeat(2000) }] }, /embed total/],
    ['6 rows', { allowed_mentions: { parse: [] }, components: Array.from({ length: 6 }, () => row(link('a', 'https://x.example'))) }, /action rows/],
    ['link + custom_id', { allowed_mentions: { parse: [] }, components: [row(link('a', 'https://x.example', { custom_id: 'c' }))] }, /custom_id/],
    ['empty', { allowed_mentions: { parse: [] } }, /nothing to send/],
    ['embed url 2049', { allowed_mentions: { parse: [] }, embeds: [{ title: 't', url: `https://x.example/${'u'.repeat(2031)}` }] }, /url is not an http\(s\) URL ≤2048/],
    ['timestamp year 0', { allowed_mentions: { parse: [] }, embeds: [{ title: 't', timestamp: '0000-01-01T00:00:00.000Z' }] }, /timestamp/],
    ['timestamp year 10000', { allowed_mentions: { parse: [] }, embeds: [{ title: 't', timestamp: '+010000-01-01T00:00:00.000Z' }] }, /timestamp/],
    ['timestamp empty', { allowed_mentions: { parse: [] }, embeds: [{ title: 't', timestamp: '' }] }, /timestamp/],
  ])('%s', (_, body, re) => expect(discordLimitViolations(body).join('\n')).toMatch(re));
  test('interactive button flagged when not allowed', () => {
    const body = { allowed_mentions: { parse: [] }, components: [row(ack('ack:1'))] };
    expect(discordLimitViolations(body)).toEqual([]);
    expect(discordLimitViolations(body, { allowInteractive: false }).join()).toMatch(/interactive/);
  });
});

describe('embed url and timestamp', () => {
  const fit = (embed: Obj) => fitDiscordMessage({ embeds: [{ title: 't', ...embed }] }, { allowInteractive: true });
  const embedOf = (body: Obj): Obj => embedsOf(body)[0]!;

  test('embed and author url: kept up to 2048 characters, removed beyond', () => {
    const url = (n: number) => `https://x.example/${'u'.repeat(n - 18)}`;
    expect(url(2048)).toHaveLength(2048);
    const ok = fit({ url: url(2048), author: { name: 'a', url: url(2048) } });
    expect(embedOf(ok.body)).toMatchObject({ url: url(2048), author: { url: url(2048) } });
    const long = fit({ url: url(2049), author: { name: 'a', url: url(2049) } });
    expect(embedOf(long.body).url).toBeUndefined();
    expect((embedOf(long.body).author as Obj).url).toBeUndefined();
    expect(long.warnings.join('\n')).toMatch(/embeds\[0\]\.url removed: not an http\(s\) URL of at most 2048/);
    expect(discordLimitViolations(long.body)).toEqual([]);
  });

  test.each([
    '2024-01-02T03:04:05.000Z', '2024-01-02T03:04:05Z', '2024-01-02T03:04Z', '2024-01-02T08:34:05+05:30', '2024-01-02T03:04:05.123456789Z',
    '2024-02-29T00:00:00Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59+05:00', '2024-01-02T03:04:05',
  ])('keeps timestamp %s', (timestamp) => {
    expect(isDiscordTimestamp(timestamp)).toBe(true);
    const { body, warnings } = fit({ timestamp });
    expect(embedOf(body).timestamp).toBe(timestamp);
    expect(warnings).toEqual([]);
  });

  test.each<[string, unknown]>([
    ['empty', ''], ['year 0', '0000-01-01T00:00:00.000Z'], ['six-digit year', '+010000-01-01T23:58:59.000Z'],
    ['negative year', '-000001-01-01T00:00:00.000Z'], ['year 1 shifted into year 0', '0001-01-01T00:00:00+00:01'],
    ['year 9999 shifted into 10000', '9999-12-31T23:59:59-23:59'], ['not ISO', 'Jan 2, 2024'], ['no time', '2024-01-02'],
    ['30 February', '2023-02-30T00:00:00Z'], ['29 February, no leap year', '2023-02-29T00:00:00Z'], ['hour 24', '2024-01-01T24:00:00Z'],
    ['number', 1704164645000], ['null', null],
  ])('removes a timestamp that is %s', (_, timestamp) => {
    expect(isDiscordTimestamp(timestamp)).toBe(false);
    const { body, warnings } = fit({ timestamp });
    expect(embedOf(body)).not.toHaveProperty('timestamp');
    expect(warnings.join('\n')).toMatch(/embeds\[0\]\.timestamp removed/);
    expect(discordLimitViolations(body)).toEqual([]);
  });
});
