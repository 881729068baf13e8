import { escapeMarkdown } from 'discord.js';
import fc from 'fast-check';
import { cloneJsonValue, discordEscape, isHttpUrl, jsonStringContent, markdownEscape, slackEscape, ZWSP } from '../src/templates/escape';
import { DEFAULT_MARKER, SHORT_MARKER, measure, shrinkLongestFirst, truncateText, type TextSlot } from '../src/templates/truncate';

/** Attacker-shaped alert text used across the suite. */
const HOSTILE = [
  '<!channel>', '<!here|here>', '<!everyone>', '<!subteam^S1>', '<@U012AB3CD>', '<#C123ABC456>',
  '<http://evil|bank>', '&lt;!channel&gt;', '@everyone', '@here', '[x](http://evil)', '[a](http://x) and [b](http://y)',
  '{{7*7}}', '<@80351110224678912>', '<@!80351110224678912>', '<@&165511591545143296>', '</ban:123>', '<t:1700000000:R>',
  '> quote', '>>> big quote', '-# subtext', '# heading', '- item', '1. item', '**bold** __u__ ~~s~~ ||spoiler|| `c` ```block```',
  'back\\slash\\', 'emoji 😀👍🏽 𝕏', 'line1\nline2\r\n> q',
];

describe('slackEscape', () => {
  test.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here|here>', '&lt;!here|here&gt;'],
    ['<!subteam^S1>', '&lt;!subteam^S1&gt;'],
    ['<@U012AB3CD>', '&lt;@U012AB3CD&gt;'],
    ['<http://evil|bank>', '&lt;http://evil|bank&gt;'],
    ['&lt;!channel&gt;', '&amp;lt;!channel&amp;gt;'], // & first: pre-encoded input stays literal
    ['a & b "q" \'s\'', 'a &amp; b "q" \'s\''], // nothing else HTML-encoded
    ['{{7*7}}', '{{7*7}}'],
    ['', ''],
  ])('%j -> %j', (input, expected) => expect(slackEscape(input)).toBe(expected));

  test.each(HOSTILE)('no control characters survive: %j', (s) => {
    const out = slackEscape(s);
    expect(out).not.toMatch(/[<>]/);
    // every & starts one of the three entities, so nothing can decode into a control sequence
    expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
  });
});

describe('discordEscape', () => {
  test.each([
    ['@everyone', `@${ZWSP}everyone`],
    ['@here', `@${ZWSP}here`],
    ['<@123>', `<${ZWSP}@123>`],
    ['<@!123>', `<${ZWSP}@!123>`],
    ['<@&123>', `<${ZWSP}@&123>`],
    ['<#123>', `<${ZWSP}#123>`],
    ['</ban:1>', `<${ZWSP}/ban:1>`],
    ['<t:1700000000:R>', `<${ZWSP}t:1700000000:R>`],
    ['> quote', '\\> quote'],
    ['>>> big', '\\>>> big'],
    ['-# sub', '\\-# sub'],
    ['# h', '\\# h'],
    ['- item', '\\- item'],
    ['1. item', '1\\. item'],
    ['[x](http://evil)', '\\[x]\\(http://evil)'],
    ['**b**', '\\*\\*b\\*\\*'],
    ['a\\b', 'a\\\\b'],
    ['see https://example.com/a_b_c', 'see https://example.com/a_b_c'], // bare URL stays, nothing wrapped
  ])('%j -> %j', (input, expected) => expect(discordEscape(input)).toBe(expected));

  test.each(HOSTILE)('no live mention, link, quote or subtext survives: %j', (s) => {
    const out = discordEscape(s);
    expect(out).not.toMatch(/<[@#/]|<t:/); // mention, channel, command, timestamp syntaxes
    expect(out).not.toMatch(/@(everyone|here)/i);
    // every [ and every ]( must be escaped by an odd run of backslashes
    for (const m of out.matchAll(/(\\*)(\[|\]\()/g)) expect((m[1] ?? '').length % 2).toBe(1);
    expect(out).not.toMatch(/^[ \t]*(>|-#)/m);
  });

  test.each([
    ['y'.repeat(100_000)], ['\\'.repeat(100_000)], ['`'.repeat(100_000)], ['|'.repeat(100_000)], ['<a:' + 'x_'.repeat(50_000)],
    ['😀*'.repeat(30_000)], ['*_~|`\\'.repeat(20_000)], [`${'\\'.repeat(5000)}[x](http://evil)`],
  ])('bounded cost on hostile 100k input (escapeMarkdown alone takes ~97 s) #%#', (s) => {
    const t0 = Date.now();
    const out = discordEscape(s);
    expect(Date.now() - t0).toBeLessThan(1500); // measured ≈35 ms; generous for loaded CI machines
    expect(out).toContain('… (truncated)'); // input cut to DISCORD_ESCAPE_INPUT_MAX, visibly
    expect(out).not.toMatch(/(?<!\\)(\\\\)*\|\|/); // no live spoiler pair (|| after an even run of backslashes)
  });

  test('segmenting long input matches escapeMarkdown on realistic text (modulo harmless extra escapes)', () => {
    const line = 'Failed login for **admin** from host-1 see https://x.example/a_b_c `code` ||spoiler|| ~~s~~ __u__\n';
    const unescape = (x: string): string => x.replace(/\\(.)/gs, '$1').replace(/\u200b/g, '');
    expect(unescape(discordEscape(line.repeat(30)))).toBe(unescape(escapeMarkdown(line.repeat(30))));
  });

  test('markdownEscape is escapeMarkdown with every option on, without its passes that would find nothing', () => {
    const allOn = {
      codeBlock: true, inlineCode: true, bold: true, italic: true, underline: true, strikethrough: true, spoiler: true,
      codeBlockContent: true, inlineCodeContent: true, escape: true, heading: true, bulletedList: true, numberedList: true,
      maskedLink: true,
    };
    // Markdown's characters, line starts, digits and dots weighted up: plain text alone would prove nothing.
    const char = fc.oneof(
      { arbitrary: fc.constantFrom(...'\\`*_~|[]()#->.+ \n\r\t0123456789:<@'.split('')), weight: 4 },
      { arbitrary: fc.constantFrom('a', 'Z', 'é', '😀', 'https://x.example/a_b', '1. ', '- ', '# ', '\u2028', '203.0.113.7'), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }).map((parts) => (parts as string[]).join('')), (text) => {
        expect(markdownEscape(text)).toBe(escapeMarkdown(text, allOn));
      }),
      { numRuns: 20_000 },
    );
    for (const marked of ['# h', 'x\n  ## h', '203.0.113.7', '- b', 'x\n 12. y', 'user_1', 'a || b', '~~s~~']) {
      expect(markdownEscape(marked)).toBe(escapeMarkdown(marked, allOn));
      expect(markdownEscape(marked)).not.toBe(marked);
    }
    // `#` only starts a heading at a line start; a lone `|` or `~` is no token.
    for (const plain of ['Suspicious login from 203.0.113.7', 'Benchmark alert', 'a - b', 'a-b', '', 'bench#1', 'cpu | host-1', '~/x']) {
      expect(markdownEscape(plain)).toBe(plain);
      expect(escapeMarkdown(plain, allOn)).toBe(plain);
    }
  });

  test('second masked link on a line is escaped too (escapeMaskedLink alone misses it)', () => {
    expect(discordEscape('[a](http://x) [b](http://y)')).toBe('\\[a]\\(http://x) \\[b]\\(http://y)');
  });
});

describe('jsonStringContent', () => {
  test.each([...HOSTILE, '"}],"text":"pwn', 'tab\tnl\n\u2028\u2029', '\u0000\u001f', 'lone \ud800 surrogate'])(
    'splices into a JSON template without changing structure: %j', (s) => {
      const doc = JSON.parse(`{"text":"${jsonStringContent(s)}","n":1}`) as { text: string; n: number };
      expect(doc).toEqual({ text: s, n: 1 });
    });
  test('no surrounding quotes', () => expect(jsonStringContent('a"b')).toBe('a\\"b'));
  test('is the body of JSON.stringify for any string (lone surrogates and control characters included)', () => {
    const unit = fc.oneof(fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)), fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), fc.constantFrom('"', '\\', '/', '\u2028', '\u007f'));
    fc.assert(fc.property(fc.array(unit, { maxLength: 30 }).map((units) => units.join('')), (s) => {
      expect(jsonStringContent(s)).toBe(JSON.stringify(s).slice(1, -1));
    }), { numRuns: 5000 });
  });
});

describe('isHttpUrl', () => {
  test.each([
    ['https://example.com/x?y=1', true], ['http://10.0.0.1:8080/', true], ['HTTPS://EXAMPLE.COM', true],
    ['javascript:alert(1)', false], ['data:text/html,x', false], ['/relative', false], ['//evil.example', false],
    ['http:evil.example', false], ['ftp://x', false], [' https://x', false], ['https://x\n', false], ['https://', false],
    ['', false], [42, false], [undefined, false],
  ])('%j -> %s', (u, ok) => expect(isHttpUrl(u)).toBe(ok));
});

describe('cloneJsonValue', () => {
  test('copies deeply like JSON, honours toJSON, cuts cycles, keeps __proto__ inert', () => {
    const cyc: Record<string, unknown> = { a: [1, undefined, () => 1], d: new Date(0), n: NaN, b: 10n };
    cyc.self = cyc;
    const out = cloneJsonValue(cyc) as Record<string, unknown>;
    expect(out).toEqual({ a: [1, null, null], d: '1970-01-01T00:00:00.000Z', n: null, b: '10' });
    const poisoned = cloneJsonValue(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(poisoned)).toBe(Object.prototype);
    expect(Object.keys(poisoned)).toEqual(['__proto__']);
  });
});

describe('truncateText', () => {
  test('fits: unchanged', () => expect(truncateText('abc', 3)).toEqual({ text: 'abc', truncated: false }));
  test('cut: visible marker, result fits', () => {
    const r = truncateText('x'.repeat(100), 50);
    expect(r).toEqual({ text: 'x'.repeat(50 - DEFAULT_MARKER.length) + DEFAULT_MARKER, truncated: true });
  });
  test.each([[10, SHORT_MARKER], [1, SHORT_MARKER], [0, '']])('small max %i uses marker %j', (max, marker) => {
    const r = truncateText('y'.repeat(100), max);
    expect(r.text.length).toBeLessThanOrEqual(max);
    expect(r.text.endsWith(marker)).toBe(true);
  });
  test('100k-char string', () => {
    const r = truncateText('z'.repeat(100_000), 3000);
    expect(r.text.length).toBe(3000);
    expect(r.truncated).toBe(true);
  });
  test('codepoint counting lets astral text use the full budget', () => {
    const r = truncateText('😀'.repeat(100), 20, { count: 'codepoints', marker: '…' });
    expect(measure(r.text, 'codepoints')).toBe(20);
    expect(r.text.length).toBe(39);
  });

  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const body = (r: { text: string }, marker: string): string => r.text.slice(0, r.text.length - marker.length);
  const cases: Array<[string, 'slack' | 'discord' | 'none', (kept: string, full: string) => void]> = [
    [HOSTILE.join(' '), 'none', (k) => expect(k).not.toMatch(lone)],
    [slackEscape(HOSTILE.join(' ')), 'slack', (k) => {
      expect(k).not.toMatch(lone);
      expect(k.replace(/&(amp|lt|gt);/g, '')).not.toContain('&'); // never a partial entity
    }],
    [discordEscape(HOSTILE.join('\n')), 'discord', (k, full) => {
      expect(k).not.toMatch(lone);
      expect((/\\*$/.exec(k)?.[0] ?? '').length % 2).toBe(0); // no dangling escape
      // no half of a ZWSP-broken mention: neither `<`/`@` whose ZWSP was cut off, nor `<`+ZWSP without its target
      expect(k).not.toMatch(/[<@]\u200b$/);
      if (/[<@]$/.test(k)) expect(full[k.length]).not.toBe(ZWSP);
    }],
  ];
  test.each(cases.map(([t, style, check]) => ({ t, style, check })))('every cut point is safe ($style)', ({ t: text, style: escapeStyle, check }) => {
    for (let max = 1; max < text.length; max++) {
      const marker = '…';
      const r = truncateText(text, max, { marker, escapeStyle });
      expect(r.text.length).toBeLessThanOrEqual(max);
      expect(text.startsWith(body(r, marker))).toBe(true);
      check(body(r, marker), text);
    }
  });
});

describe('shrinkLongestFirst', () => {
  test('shrinks only the longest strings; short ones survive', () => {
    const holder: Record<string, unknown> = { a: 'short', b: 'x'.repeat(5000), c: 'y'.repeat(3000) };
    const slots: TextSlot[] = ['a', 'b', 'c'].map((key) => ({ holder, key, path: key, escapeStyle: 'none' }));
    const r = shrinkLongestFirst(slots, 6000, 'total');
    expect(r.total).toBeLessThanOrEqual(6000);
    expect(holder.a).toBe('short');
    expect(String(holder.b).endsWith(DEFAULT_MARKER)).toBe(true);
    expect(r.warnings).toHaveLength(2);
  });
});
