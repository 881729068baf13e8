/**
 * The alert corpus of test/render-golden.test.ts: every valid payload fixture of every source (and the examples),
 * plus synthesized alerts carrying one hostile or ordinary string in every text field: mentions and pings of both
 * platforms, markdown, URLs on and off the alert's own hosts in every spelling the defanger knows, huge strings,
 * unicode (emoji, combining marks, bidi controls, lone surrogates). Deterministic: a fixed receipt time.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Alert } from '../../src/domain/alert';
import { detectSource } from '../../src/sources/detect';
import { parseAlertmanagerPayload } from '../../src/sources/alertmanager';
import { parseGrafanaPayload } from '../../src/sources/grafana';
import { parsePantherPayload } from '../../src/sources/panther';

const NOW = Date.UTC(2024, 4, 6, 7, 8, 9);
const ROOT = path.resolve(__dirname, '..', '..');
const OWN = 'https://acme.runpanther.net/alerts/abc123';

/** Every alert a payload file holds, parsed by its source's adapter (no intake bounds: huge strings stay huge). */
function alertsOfFile(file: string): Alert[] {
  const body: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const source = detectSource(body);
  if (source === 'panther') {
    const parsed = parsePantherPayload(body, { now: NOW });
    return parsed.ok ? [parsed.alert] : [];
  }
  const parsed = source === 'grafana' ? parseGrafanaPayload(body, { now: NOW }) : parseAlertmanagerPayload(body, { now: NOW });
  return parsed.ok ? parsed.alerts : [];
}

function jsonFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'invalid' || entry.name === 'bytes-variants' ? [] : jsonFiles(full);
    return entry.name.endsWith('.json') && !entry.name.endsWith('.expect.json') && entry.name !== 'hostile-strings.json' ? [full] : [];
  }).sort();
}

/** Strings placed in every field of a synthesized alert. */
function strings(): Record<string, string> {
  const hostile = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/panther/hostile-strings.json'), 'utf8')) as Record<string, string>;
  return {
    ...hostile,
    plain: 'Suspicious login from 203.0.113.7 by user alice',
    empty: '',
    'own-url': `see ${OWN}?a=1&b=<2> and https://ACME.runpanther.net./x and https://acme.runpanther.net:443/y`,
    'foreign-urls': 'https://evil.example/x http://evil.example HTTPS://EVIL.EXAMPLE/P www.evil.example https://evil.example:8443/p?q=1#f',
    'tricky-urls': 'https://user@acme.runpanther.net/ https://acme.runpanther.net.evil.example/ https:/\\evil.example https://evil%2eexample/ http:/https://evil.example https://evil。example http://[::1]/ https://аpple.com https://xn--80ak6aa92e.com javascript:alert(1)',
    'masked-links': `[x](${OWN}) [y](https://evil.example) [https://evil.example](${OWN}) [a [b] c](${OWN}) [t]( <https://evil.example>) \\[z](https://evil.example)`,
    'slack-links': `<${OWN}|ok> <https://evil.example|${OWN}> <mailto:a@b.c> <!date^1392734382^{date}|x>`,
    'discord-pings': '@everyone @here @HeRe <@123> <@!123> <@&123> <#123> </cmd:1> <t:1:R> <:e:1> <a:e:1> <id:customize> ＠everyone @\u200beveryone',
    markdown: '**a** _b_ ~~c~~ `d` ||e|| \\*f\\* [g] # h\n> q\n>>> qq\n-# sub\n  - li\n1. n\n```js\nx\n```',
    backslashes: '\\\\\\[x](y) \\\\[x](y) \\ \\\\ a\\*b',
    entities: '&amp; &lt;!channel&gt; &#60; & < > &&& <<>>',
    unicode: 'Ünïcödé 日本語 🔥👩‍👩‍👧 e\u0301 \u202eexe.pdf \u2066iso\u2069 \u200f\u200e \ufeffBOM \u2028\u2029',
    surrogates: 'a\ud800b \udc00c \ud83d',
    controls: 'nul\u0000 bell\u0007 esc\u001b[31m del\u007f tab\t cr\r lf\n',
    json: '{"a":1,"b":[1,2],"c":"\\"q\\""}',
    'long-4097': `${'ab '.repeat(1365)}x🔥y`,
    'long-markdown': '*_~`|'.repeat(2000),
    'long-backslash': '\\'.repeat(5001),
    'huge-urls': 'https://evil.example/p '.repeat(3000),
    'huge-amp': '&<>'.repeat(20_000),
    'huge-plain': 'x'.repeat(120_000),
  };
}

/**
 * A Panther alert with `text` in every text field (and, when it is one, as the link); a huge `text` only in the
 * title, description and one context value (each field would cost a render seconds of escaping, for nothing new).
 */
function synthesized(name: string, text: string): Alert {
  const everywhere = text.length <= 5000;
  const other = everywhere ? text : 'ordinary';
  const payload = {
    id: other || 'Empty.Id',
    createdAt: '2024-05-06T07:08:09Z',
    severity: 'HIGH',
    type: 'RULE',
    link: /^https?:\/\/\S+$/.test(text) ? text : OWN,
    title: text,
    name: other,
    alertId: other,
    alertContext: { field: text, [other.slice(0, 200) || 'k']: 'v', nested: { list: [other, 1, true, null] } },
    description: text,
    runbook: other,
    tags: [other, 'ok'],
  };
  const parsed = parsePantherPayload(payload, { now: NOW });
  if (!parsed.ok) throw new Error(`corpus alert ${name} does not parse: ${JSON.stringify(parsed.issues)}`);
  return parsed.alert;
}

/** [case name, alert], in a stable order. */
export function renderCorpus(): [string, Alert][] {
  const files = [
    ...['panther/valid', 'alertmanager', 'grafana'].flatMap((dir) => jsonFiles(path.join(ROOT, 'test/fixtures', dir))),
    ...jsonFiles(path.join(ROOT, 'examples/alerts')),
  ];
  const fromFiles = files.flatMap((file) =>
    alertsOfFile(file).map((alert, i): [string, Alert] => [`${path.relative(ROOT, file)}#${i}`, alert]),
  );
  const made = Object.entries(strings()).map(([name, text]): [string, Alert] => [`synthesized/${name}`, synthesized(name, text)]);
  const linkOff = synthesized('link-off-host', 'https://evil.example/alert');
  return [...fromFiles, ...made, ['synthesized/link-off-host', linkOff]];
}
