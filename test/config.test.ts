import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import express from 'express';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, resolveConfigPath } from '../src/config/defaults';
import { interpolate } from '../src/config/interpolate';
import { formatProblems, loadConfigFile, loadConfigText } from '../src/config/load';
import { configSecrets } from '../src/bridge';
import type { LoadResult } from '../src/config/load';
import type { ConfigProblem } from '../src/config/problem';

const root = join(__dirname, '..');
const fixture = (name: string) => join(__dirname, 'fixtures', 'config', name);
const EXAMPLE = join(root, 'examples', 'chatops-bridge.yaml');

const EXAMPLE_ENV = {
  PANTHER_WEBHOOK_TOKEN: 'panther-secret-0001',
  SLACK_BOT_TOKEN: 'xoxb-111-222-slacksecret',
  DISCORD_BOT_TOKEN: 'MTE.discord.botsecret',
  DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/112233445566778899/hooktokensecret_abc',
};

const MINIMAL = 'destinations:\n  console: { type: console }\nroutes:\n  - name: everything\n    to: [console]\n';

function problemsOf(r: LoadResult): ConfigProblem[] {
  if (r.ok) throw new Error(`expected problems, got a valid config`);
  return r.problems;
}
function okConfig(r: LoadResult) {
  if (!r.ok) throw new Error(`expected a valid config, got:\n${formatProblems(r.problems, 'config')}`);
  return r.config;
}
/** Assert one problem at `path` on `line` whose message matches `message`. */
function expectProblem(list: ConfigProblem[], path: string, line: number | undefined, message: RegExp): void {
  const hits = list.filter((p) => p.path === path && message.test(p.message));
  if (hits.length === 0) throw new Error(`no problem ${path} ~ ${message}; got:\n${formatProblems(list, 'f')}`);
  expect(hits[0]!.line).toBe(line);
}

describe('example config', () => {
  it('passes validation with its env vars set, defaults applied', () => {
    const r = loadConfigFile(EXAMPLE, EXAMPLE_ENV);
    const config = okConfig(r);
    expect(r.warnings).toEqual([]);
    expect(config.server.port).toBe(8080);
    expect(config.sources.panther?.auth?.tokens).toEqual(['panther-secret-0001']);
    expect(config.slack?.signingSecret).toBeUndefined(); // `${SLACK_SIGNING_SECRET:-}` = feature off
    expect(config.destinations['soc-discord']).toEqual({ type: 'discord', channel: '112233445566778899', layout: 'embed' });
    expect(config.routes.map((r) => [r.name, r.continue])).toEqual([
      ['page-soc', true],
      ['system-health', false],
      ['everything-else', false],
    ]);
    expect(config.delivery.backoff).toEqual({ initialMs: 1000, maxMs: 300000, factor: 2 });
  });

  it('without env lists every unset variable with key path and line, and no follow-up noise', () => {
    // Lines are looked up in the example so editing its comments does not break this test.
    const lines = readFileSync(EXAMPLE, 'utf8').split('\n');
    const lineOf = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    const problems = problemsOf(loadConfigFile(EXAMPLE, {}));
    const unset = /^environment variable PANTHER_WEBHOOK_TOKEN is not set$/;
    expectProblem(problems, 'sources.panther.auth.tokens[0]', lineOf('- "${PANTHER_WEBHOOK_TOKEN}"'), unset);
    expectProblem(problems, 'slack.token', lineOf('token: ${SLACK_BOT_TOKEN}'), /SLACK_BOT_TOKEN is not set/);
    expectProblem(problems, 'discord.token', lineOf('token: ${DISCORD_BOT_TOKEN}'), /DISCORD_BOT_TOKEN is not set/);
    expectProblem(problems, 'destinations.lab-hook.url', lineOf('url: ${DISCORD_WEBHOOK_URL}'), /WEBHOOK_URL is not set/);
    expect(problems.filter((p) => p.path === 'slack.token')).toHaveLength(1);
    expect(formatProblems(problems, 'chatops-bridge.yaml').split('\n')).toContain(
      `chatops-bridge.yaml:${lineOf('token: ${SLACK_BOT_TOKEN}')} slack.token: environment variable SLACK_BOT_TOKEN is not set`,
    );
  });
});

describe('schema problems', () => {
  const env = { SLACK_BOT_TOKEN: 'not-a-slack-token-zz', DISCORD_BOT_TOKEN: 'd.tok', HOOK_SECRET: 'hooksecret-xyz98' };
  const r = loadConfigFile(fixture('bad-schema.yaml'), env);
  const problems = problemsOf(r);

  it.each([
    ['server.prot', 2, /unknown key "prot" \(did you mean "port"\?\)/],
    ['sources.panther.path', 5, /starting with "\/"/],
    ['slack.apiUrl', 8, /absolute http\(s\) URL/],
    ['discord.publicKey', 11, /64-hex/],
    ['destinations.soc-discord.channel', 15, /quoted string: as a YAML number a Discord id loses precision/],
    ['destinations.hook.url', 18, /Discord webhook URL/],
    ['destinations.chat.type', 20, /one of slack, discord, discord-webhook, console/],
    ['destinations["bad name"]', 21, /destination name/],
    ['routes[0].match.severity.min', 25, /INFO, LOW, MEDIUM, HIGH, CRITICAL/],
    ['routes[0].match.type[0]', 26, /upper-snake/],
    ['routes[0].to', 27, /must be a list/],
    ['routes[0].chanel', 28, /unknown key "chanel"/],
  ])('%s (line %d)', (path, line, message) => expectProblem(problems, path, line, message));

  it('lists all of them at once, sorted by line', () => {
    expect(problems.length).toBeGreaterThanOrEqual(12);
    const lines = problems.map((p) => p.line ?? 0);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('warns about a non-xox Slack token and the unauthenticated webhook', () => {
    expectProblem(r.warnings, 'slack.token', 7, /does not look like a Slack token/);
    expectProblem(r.warnings, 'sources.panther', 4, /unauthenticated webhook/);
  });

  it('never echoes secret values', () => {
    const out = formatProblems(problems, 'x.yaml') + formatProblems(r.warnings, 'x.yaml', 'warning');
    for (const secret of Object.values(env)) expect(out).not.toContain(secret);
  });

  it('reports a missing required key at the map that lacks it', () => {
    const p = problemsOf(loadConfigText('destinations: {}\nroutes:\n  - name: a\n', {}));
    expectProblem(p, 'routes[0].to', 3, /is required/);
  });
});

describe('routes[].defang', () => {
  const withDefang = (value: string) => loadConfigText(`destinations:\n  console: { type: console }\nroutes:\n  - name: everything\n    to: [console]\n    defang: ${value}\n`, {});

  it('is on unless a route turns it off', () => {
    const off = withDefang('false');
    if (!off.ok) throw new Error(JSON.stringify(off.problems));
    expect(off.config.routes[0]!.defang).toBe(false);
    const on = loadConfigText(MINIMAL, {});
    expect(on.ok && on.config.routes[0]!.defang).toBe(true);
  });

  it('must be true or false', () => expectProblem(problemsOf(withDefang('sometimes')), 'routes[0].defang', 6, /true or false/));
});

describe('sources.panther.path', () => {
  const withPath = (path: string) => loadConfigText(`sources:\n  panther:\n    path: '${path}'\n${MINIMAL}`, {});

  it.each(['/hooks/(panther', '/hooks/:id', '/hooks/*', '/hooks/{x}', '/hooks?x', '/hooks/a+b', '/hooks/a!', '/hooks\\x', '/hooks/[a]', '/a b', '/a%20b', 'hooks'])(
    'rejects %j with a clear message',
    (path) => expectProblem(problemsOf(withPath(path)), 'sources.panther.path', 3, /starting with "\/" and containing only letters, digits and \. _ ~ - \//),
  );

  it.each(['/', '/webhooks/panther', '/hooks/panther-v2.1_x~y', '/A/b/C/'])('accepts %j, and Express can route it', (path) => {
    expect(okConfig(withPath(path)).sources.panther?.path).toBe(path);
    expect(() => express.Router().post(path, (_req, res) => void res.end())).not.toThrow();
  });
});

describe('semantic problems', () => {
  const env = { TOKEN_A: 'same-secret-token', TOKEN_B: 'same-secret-token' };
  const r = loadConfigFile(fixture('bad-references.yaml'), env);
  const problems = problemsOf(r);

  it.each([
    ['sources.panther.auth.tokens[1]', 6, /^duplicate token \(same as tokens\[0\]\)$/],
    ['destinations.soc-slack.type', 8, /need slack\.token/],
    ['destinations.soc-discord.type', 9, /need discord\.token/],
    ['destinations.unused', 11, /duplicate destination name "unused" \(first defined at line 10\)/],
    ['routes[0].to[0]', 15, /unknown destination "soc-slak" \(did you mean "soc-slack"\?\)/],
    ['routes[1].name', 16, /duplicate route name "page" \(first used at line 13\)/],
  ])('%s (line %d)', (path, line, message) => expectProblem(problems, path, line, message));

  it.each([
    ['destinations.unused', 10, /not used by any route/],
    ['routes[1].match.type[1]', 17, /"RULEE" is not an alert type Panther is known to send/],
    ['routes[3]', 21, /can never match: route "everything" \(line 19\)/],
  ])('warning %s (line %d)', (path, line, message) => expectProblem(r.warnings, path, line, message));

  it('keeps the duplicated token out of every message', () => {
    expect(JSON.stringify(r)).not.toContain('same-secret-token');
  });

  it('rejects a lease shorter than the request timeout (it would allow double posts)', () => {
    const p = problemsOf(loadConfigText(`${MINIMAL}delivery: { leaseMs: 5000, requestTimeoutMs: 10000 }\n`, {}));
    expectProblem(p, 'delivery.leaseMs', 6, /longer than delivery.requestTimeoutMs/);
  });
});

describe('destination formats', () => {
  const dest = (d: string) => `slack: { token: xoxb-1 }\ndiscord: { token: d.t }\ndestinations:\n  d: ${d}\n` +
    'routes:\n  - name: r\n    to: [d]\n';
  it.each([
    '{ type: slack, channel: C0123456789 }',
    '{ type: slack, channel: G01ABCDEF }',
    '{ type: slack, channel: "#soc-alerts" }',
    '{ type: discord, channel: "11223344556677889" }',
    '{ type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/a-B_c.d" }',
    '{ type: discord-webhook, url: "https://ptb.discordapp.com/api/v10/webhooks/112233445566778899/zzsecretzz" }',
    '{ type: console, template: compact.v2 }',
    '{ type: discord, channel: "11223344556677889", forum: { tags: { severity: { CRITICAL: critical }, alertTags: { "team=db": Database }, default: alert }, archiveOnResolve: true } }',
  ])('accepts %s', (d) => expect(loadConfigText(dest(d), {}).ok).toBe(true));
  it.each([
    ['{ type: slack, channel: soc-alerts }', 'destinations.d.channel'],
    ['{ type: slack, channel: c0123456789 }', 'destinations.d.channel'],
    ['{ type: discord, channel: "1234" }', 'destinations.d.channel'],
    ['{ type: discord-webhook, url: "http://discord.com/api/webhooks/112233445566778899/zzsecretzz" }', 'destinations.d.url'],
    ['{ type: discord-webhook, url: "https://evil.example/api/webhooks/112233445566778899/zzsecretzz" }', 'destinations.d.url'],
    ['{ type: console, template: ../../etc/passwd }', 'destinations.d.template'],
    ['{ type: console, channel: C0123456789 }', 'destinations.d.channel'],
    ['{ type: discord, channel: "11223344556677889", forum: { tags: { severity: { critical: x } } } }', 'destinations.d.forum.tags.severity.critical'],
    ['{ type: discord, channel: "11223344556677889", forum: { tags: { default: "a tag name over twenty chars" } } }', 'destinations.d.forum.tags.default'],
    ['{ type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/zzsecretzz", forum: {} }', 'destinations.d.forum'],
  ])('rejects %s at %s', (d, path) => {
    const p = problemsOf(loadConfigText(dest(d), {}));
    expect(p).toEqual([{ path, line: 4, message: expect.any(String) }]);
    expect(p[0]!.message).not.toContain('zzsecretzz');
  });
});

describe('Discord layout', () => {
  const dest = (d: string) => `discord: { token: d.t }\ndestinations:\n  d: ${d}\nroutes:\n  - name: r\n    to: [d]\n`;
  const hook = 'type: discord-webhook, url: "https://discord.com/api/webhooks/112233445566778899/zzsecretzz"';
  it('is embed unless a Discord destination says v2, on bot and webhook destinations alike', () => {
    expect(okConfig(loadConfigText(dest('{ type: discord, channel: "11223344556677889" }'), {})).destinations.d).toMatchObject({ layout: 'embed' });
    expect(okConfig(loadConfigText(dest('{ type: discord, channel: "11223344556677889", layout: v2 }'), {})).destinations.d).toMatchObject({ layout: 'v2' });
    expect(okConfig(loadConfigText(dest(`{ ${hook}, layout: v2 }`), {})).destinations.d).toMatchObject({ layout: 'v2' });
    expect(okConfig(loadConfigText(dest(`{ ${hook}, layout: "\${LAYOUT:-embed}" }`), { LAYOUT: 'v2' })).destinations.d).toMatchObject({ layout: 'v2' });
  });
  it.each([
    ['{ type: discord, channel: "11223344556677889", layout: components_v2 }', /must be one of embed, v2/],
    [`{ ${hook}, layout: V2 }`, /must be one of embed, v2/],
    ['{ type: slack, channel: C0123456789, layout: v2 }', /layout/],
  ])('rejects %s on its line', (d, message) => {
    const problems = problemsOf(loadConfigText(`slack: { token: xoxb-1 }\n${dest(d)}`, {}));
    expectProblem(problems, problems[0]!.path, 4, message);
    expect(problems[0]!.path).toMatch(/^destinations\.d(\.layout)?$/);
  });
});

describe('Discord layout and mentions', () => {
  const text = (layout: string, mentions: string) =>
    `sources: { panther: { auth: { tokens: [t] } } }\ndiscord: { token: d.t }\ndestinations:\n  d: { type: discord, channel: "11223344556677889", layout: ${layout} }\n` +
    `routes:\n  - name: r\n    to: [d]\n${mentions}`;
  it("warns (only) where a route's Discord mentions reach a v2 destination: phones show the ping without text", () => {
    const r = loadConfigText(text('v2', '    mentions: { discord: { roles: ["223344556677889900"] } }\n'), {});
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([{ path: 'routes[0].to[0]', line: 7, message: expect.stringMatching(/layout: v2: .*phones show the notification without any text \(discord-api-docs#7854\)/) }]);
    expect(loadConfigText(text('embed', '    mentions: { discord: { roles: ["223344556677889900"] } }\n'), {}).warnings).toEqual([]);
    expect(loadConfigText(text('v2', ''), {}).warnings).toEqual([]);
    expect(loadConfigText(text('v2', '    mentions: { slack: { here: true } }\n'), {}).warnings).toEqual([]);
  });
});

describe('warnings alone do not fail a config', () => {
  it('accepts an unknown alert type and an unauthenticated webhook, warning about both', () => {
    const text = `sources:\n  panther: {}\n${MINIMAL}    match: { type: [RULE, NEW_KIND] }\n`;
    const r = loadConfigText(text, {});
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => [w.path, w.line])).toEqual([
      ['sources.panther', 2],
      ['routes[0].match.type[1]', 8],
    ]);
  });
});

describe('shape', () => {
  it('accepts alertmanager/grafana sections written for a later version', () => {
    const text = `sources:\n  alertmanager: { path: /webhooks/alertmanager, auth: { bearer: ["x"] } }\n${MINIMAL}`;
    expect(loadConfigText(text, {}).ok).toBe(true);
  });

  it('rejects a config that is not a map, and duplicate keys anywhere', () => {
    expect(problemsOf(loadConfigText('- a\n- b\n', {}))).toEqual([
      { path: '', line: 1, message: expect.stringMatching(/must be a map of sections/) },
    ]);
    const p = problemsOf(loadConfigText(`server: { port: 1 }\n${MINIMAL}server: { port: 2 }\n`, {}));
    expect(p).toEqual([{ path: 'server', line: 7, message: 'duplicate key "server" (first defined at line 1)' }]);
  });
});

describe('YAML syntax', () => {
  it('reports syntax errors with a line', () => {
    const p = problemsOf(loadConfigFile(fixture('bad-yaml.yaml'), {}));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: '', line: 3, message: expect.stringMatching(/^YAML syntax: /) });
  });

  it('does not quote the source line (it may hold a literal secret)', () => {
    const text = `${MINIMAL}slack:\n  token: "xoxb-literal-secret-999\n`;
    const out = formatProblems(problemsOf(loadConfigText(text, {})), 'c.yaml');
    expect(out).toMatch(/YAML syntax/);
    expect(out).not.toContain('literal-secret');
  });

  it('hints at quoting ${…} inside a flow collection', () => {
    const p = problemsOf(loadConfigText(`${MINIMAL}sources:\n  panther:\n    auth: { tokens: [\${T}] }\n`, { T: 'x' }));
    expect(p[0]).toMatchObject({ line: 8, message: expect.stringContaining('quote values that use ${…}') });
  });

  it('reports a missing file as one problem', () => {
    const p = problemsOf(loadConfigFile(fixture('does-not-exist.yaml'), {}));
    expect(p).toEqual([{ path: '', message: expect.stringMatching(/no such file/) }]);
  });

  it('reports an empty file', () => {
    expect(problemsOf(loadConfigText('# nothing\n', {}, 'c.yaml'))[0]!.message).toMatch(/c\.yaml is empty/);
  });
});

describe('interpolation', () => {
  it('substitutes ${VAR}, ${VAR:-default}, an empty default and the $${ escape', () => {
    expect(interpolate('a-${X}-${Y:-dflt}-${Z:-}-$${LIT}-$5', { X: 'x', Z: '' }).value).toBe('a-x-dflt--${LIT}-$5');
    expect(interpolate('${X:-d}', { X: 'set' }).value).toBe('set');
    expect(interpolate('${X}', { X: '' })).toMatchObject({ value: '', missing: [] });
    expect(interpolate('${A}${B}', {}).missing).toEqual(['A', 'B']);
    expect(interpolate('${OOPS', {}).errors).toHaveLength(1);
    expect(interpolate('${9X}', {}).errors).toHaveLength(1);
  });

  it('applies in the document, typed by the schema', () => {
    const text =
      `server:\n  port: \${PORT_X:-9001}\nstore:\n  path: "$\${NOT_A_VAR}"\n${MINIMAL}` +
      `slack:\n  token: xoxb-1\n  signingSecret: \${SIGNING:-}\n`;
    const config = okConfig(loadConfigText(text, {}));
    expect(config.server.port).toBe(9001);
    expect(config.store).toEqual({ engine: 'sqlite', path: '${NOT_A_VAR}' });
    expect(config.slack).toEqual({ token: 'xoxb-1' }); // empty default on an optional key = not set
    expect(okConfig(loadConfigText(text, { SIGNING: 'sig-1' })).slack?.signingSecret).toBe('sig-1');
    // An empty default on a required key is still reported, on the right line.
    const p = problemsOf(loadConfigText(`server:\n  port: 8080\n  host: \${HOST:-}\n${MINIMAL}`, {}));
    expect(p).toEqual([{ path: 'server.host', line: 3, message: 'must not be empty' }]);
  });

  it('cannot change the document structure, whatever the value contains', () => {
    const evil = 'x"\n: [\nroutes: []\n  - name: injected\n"}';
    const text = `store:\n  path: \${EVIL}\ntemplates: { dir: "\${EVIL}" }\n${MINIMAL}`;
    const config = okConfig(loadConfigText(text, { EVIL: evil }));
    expect(config.store).toEqual({ engine: 'sqlite', path: evil });
    expect(config.templates.dir).toBe(evil);
    expect(config.routes.map((r) => r.name)).toEqual(['everything']);
  });

  it('names the variable, key and line, never the value', () => {
    const text = `${MINIMAL}slack:\n  token: \${SLACK_BOT_TOKEN}\n  apiUrl: \${SLACK_URL}\n`;
    const p = problemsOf(loadConfigText(text, { SLACK_URL: 'not a url secret-abcdef' }));
    expect(formatProblems(p, 'chatops-bridge.yaml')).toBe(
      [
        'chatops-bridge.yaml:7 slack.token: environment variable SLACK_BOT_TOKEN is not set',
        'chatops-bridge.yaml:8 slack.apiUrl: must be an absolute http(s) URL, e.g. https://slack.com/api/',
      ].join('\n'),
    );
  });

  it('keeps a digits-only secret a string', () => {
    const text = `${MINIMAL}sources:\n  panther:\n    auth:\n      tokens:\n        - \${T}\n`;
    expect(okConfig(loadConfigText(text, { T: '000123' })).sources.panther?.auth?.tokens).toEqual(['000123']);
  });
});

describe('secrets from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cb-secrets-'));
  const secret = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  const slackFile = secret('slack', 'xoxb-from-file-secret-1\n');
  const crlfFile = secret('crlf', 'panther-crlf-secret\r\n');
  const twoNewlines = secret('two', 'keeps-one-newline\n\n');
  const emptyFile = secret('empty', '');
  const missing = join(dir, 'does-not-exist');
  mkdirSync(join(dir, 'a-dir'));

  it('${file:/path} reads the file, trimming one trailing newline', () => {
    expect(interpolate(`\${file:${slackFile}}`, {})).toEqual({ value: 'xoxb-from-file-secret-1', missing: [], errors: [], substituted: ['xoxb-from-file-secret-1'] });
    expect(interpolate(`Bearer \${file:${crlfFile}}!`, {}).value).toBe('Bearer panther-crlf-secret!');
    expect(interpolate(`\${file:${twoNewlines}}`, {}).value).toBe('keeps-one-newline\n');
    expect(interpolate(`\${file:${emptyFile}}`, {})).toMatchObject({ value: '', errors: [] });
  });

  it('a missing, relative or unreadable file is an error naming the path and why', () => {
    expect(interpolate(`\${file:${missing}}`, {}).errors).toEqual([`secret file "${missing}" cannot be read: no such file`]);
    expect(interpolate('${file:secrets/slack}', {}).errors).toEqual(['secret file "secrets/slack" cannot be read: the path must be absolute']);
    expect(interpolate('${file:}', {}).errors).toEqual(['secret file "" cannot be read: the path is empty']);
    expect(interpolate(`\${file:${join(dir, 'a-dir')}}`, {}).errors[0]).toMatch(/it is a directory$/);
    expect(interpolate('${file:/dev/zero}', {}).errors[0]).toMatch(/not a regular file$/);
    const big = secret('big', 'x'.repeat(70 * 1024));
    expect(interpolate(`\${file:${big}}`, {}).errors[0]).toMatch(/larger than 65536 bytes$/);
  });

  it('VAR_FILE serves ${VAR} when VAR is unset or empty; a non-empty VAR wins', () => {
    expect(interpolate('${SLACK_BOT_TOKEN}', { SLACK_BOT_TOKEN_FILE: slackFile })).toMatchObject({ value: 'xoxb-from-file-secret-1', missing: [] });
    expect(interpolate('${SLACK_BOT_TOKEN}', { SLACK_BOT_TOKEN: 'xoxb-env', SLACK_BOT_TOKEN_FILE: slackFile }).value).toBe('xoxb-env');
    expect(interpolate('${SIGNING:-}', { SIGNING_FILE: crlfFile }).value).toBe('panther-crlf-secret');
    expect(interpolate('${SLACK_BOT_TOKEN}', { SLACK_BOT_TOKEN: '', SLACK_BOT_TOKEN_FILE: slackFile }).value).toBe('xoxb-from-file-secret-1');
    expect(interpolate('${SIGNING:-}', { SIGNING: '', SIGNING_FILE: crlfFile }).value).toBe('panther-crlf-secret');
    expect(interpolate('${SIGNING:-dflt}', { SIGNING_FILE: '' }).value).toBe('dflt');
    expect(interpolate('${X}', { X_FILE: missing })).toMatchObject({
      missing: [],
      errors: [`environment variable X is not set and X_FILE names a file that cannot be read ("${missing}": no such file)`],
    });
    // A named but broken secret file is a mistake to stop for, not a reason to fall back to the default.
    expect(interpolate('${X:-dflt}', { X_FILE: missing }).errors).toHaveLength(1);
  });

  it('reports an unreadable secret file like an unset variable: key path and line, no echo, no follow-up noise', () => {
    const text = `${MINIMAL}slack:\n  token: "\${file:${missing}}"\nsources:\n  panther:\n    auth:\n      tokens: ["\${PANTHER_TOKEN}"]\n`;
    const p = problemsOf(loadConfigText(text, { PANTHER_TOKEN_FILE: join(dir, 'nope') }));
    expect(p).toEqual([
      { path: 'slack.token', line: 7, message: `secret file "${missing}" cannot be read: no such file` },
      {
        path: 'sources.panther.auth.tokens[0]',
        line: 11,
        message: `environment variable PANTHER_TOKEN is not set and PANTHER_TOKEN_FILE names a file that cannot be read ("${join(dir, 'nope')}": no such file)`,
      },
    ]);
  });

  it('loads a config whose secrets all come from files, and never echoes their content', () => {
    const hook = secret('hook', 'https://discord.com/api/webhooks/112233445566778899/hooktokensecret_from_file\n');
    const env = { PANTHER_WEBHOOK_TOKEN_FILE: crlfFile, SLACK_BOT_TOKEN_FILE: slackFile, DISCORD_BOT_TOKEN: 'MTE.discord.botsecret', DISCORD_WEBHOOK_URL_FILE: hook };
    const config = okConfig(loadConfigFile(EXAMPLE, env));
    expect(config.slack?.token).toBe('xoxb-from-file-secret-1');
    expect(config.sources.panther?.auth?.tokens).toEqual(['panther-crlf-secret']);
    expect(config.destinations['lab-hook']).toMatchObject({ url: 'https://discord.com/api/webhooks/112233445566778899/hooktokensecret_from_file' });
    // A secret read from a file is redacted from later messages like an env value (here: a schema problem on it).
    const bad = secret('bad-url', 'not a url but secret-content-xyz\n');
    const p = problemsOf(loadConfigText(`${MINIMAL}slack:\n  token: xoxb-1\n  apiUrl: \${file:${bad}}\n`, {}));
    expect(p).toEqual([{ path: 'slack.apiUrl', line: 8, message: expect.stringMatching(/absolute http\(s\) URL/) }]);
    expect(JSON.stringify(p)).not.toContain('secret-content-xyz');
  });

  it('serves the built-in config\'s webhook token from PANTHER_WEBHOOK_TOKEN_FILE', () => {
    expect(defaultConfig({ PANTHER_WEBHOOK_TOKEN_FILE: crlfFile }).sources.panther?.auth?.tokens).toEqual(['panther-crlf-secret']);
    expect(() => defaultConfig({ PANTHER_WEBHOOK_TOKEN_FILE: missing })).toThrow(/PANTHER_WEBHOOK_TOKEN_FILE names a file that cannot be read/);
  });

  if (process.getuid?.() !== 0) {
    it('an unreadable file says permission denied', () => {
      const locked = secret('locked', 'x');
      chmodSync(locked, 0o000);
      expect(interpolate(`\${file:${locked}}`, {}).errors[0]).toMatch(/permission denied$/);
    });
  }
});

describe('server.metricsToken', () => {
  it('is optional, may come from the environment, and is a secret', () => {
    expect(okConfig(loadConfigText(MINIMAL, {})).server.metricsToken).toBeUndefined();
    expect(okConfig(loadConfigText(`server: { metricsToken: "\${METRICS_TOKEN:-}" }\n${MINIMAL}`, {})).server.metricsToken).toBeUndefined();
    const config = okConfig(loadConfigText(`server:\n  metricsToken: \${METRICS_TOKEN}\n${MINIMAL}`, { METRICS_TOKEN: 'scrape-secret-42' }));
    expect(config.server.metricsToken).toBe('scrape-secret-42');
    expect(configSecrets(config)).toContain('scrape-secret-42');
    expect(problemsOf(loadConfigText(`server:\n  metricsToken: 12345\n${MINIMAL}`, {}))).toEqual([
      { path: 'server.metricsToken', line: 2, message: expect.stringMatching(/must be a non-empty string/) },
    ]);
  });
});

describe('PORT', () => {
  it('overrides server.port', () => {
    expect(okConfig(loadConfigFile(fixture('minimal.yaml'), { PORT: '9090' })).server.port).toBe(9090);
    expect(okConfig(loadConfigText(`server: { port: 1234 }\n${MINIMAL}`, { PORT: '9090' })).server.port).toBe(9090);
  });

  it('is validated, and named as the source of the problem', () => {
    for (const bad of ['abc', '70000', '-1']) {
      const p = problemsOf(loadConfigFile(fixture('minimal.yaml'), { PORT: bad }));
      expect(p).toEqual([{ path: 'server.port', message: expect.stringMatching(/^environment variable PORT /) }]);
    }
  });
});

describe('defaults', () => {
  it('builds the first-run config', () => {
    const config = defaultConfig({});
    expect(config.store).toEqual({ engine: 'sqlite', path: './data/chatops-bridge.db' });
    expect(config.templates.dir).toBe('./templates');
    expect(config.sources.panther).toEqual({ path: '/webhooks/panther', bodyLimitBytes: 1048576 });
    expect(config.destinations).toEqual({ console: { type: 'console' } });
    expect(config.routes).toEqual([{ name: 'everything', to: ['console'], continue: false, digest: { backlog: 10, maxWaitMs: 30000 }, triage: { buttons: ['acknowledge', 'resolve', 'assign'] }, threads: 'off', onResolved: 'update', defang: true }]);
  });

  it('authenticates the webhook when PANTHER_WEBHOOK_TOKEN is set', () => {
    expect(defaultConfig({ PANTHER_WEBHOOK_TOKEN: 't0k3n' }).sources.panther?.auth).toEqual({
      header: 'X-Panther-Token',
      tokens: ['t0k3n'],
    });
  });

  it('listens on 127.0.0.1 while any webhook has no token, unless HOST says otherwise', () => {
    const all = { PANTHER_WEBHOOK_TOKEN: 'p', AM_WEBHOOK_TOKEN: 'a', GRAFANA_WEBHOOK_TOKEN: 'g' };
    expect(defaultConfig({}).server.host).toBe('127.0.0.1');
    expect(defaultConfig({ PANTHER_WEBHOOK_TOKEN: 'p' }).server.host).toBe('127.0.0.1');
    expect(defaultConfig({ ...all, GRAFANA_WEBHOOK_TOKEN: '' }).server.host).toBe('127.0.0.1');
    expect(defaultConfig(all).server.host).toBe('0.0.0.0');
    expect(defaultConfig({ HOST: '0.0.0.0' }).server.host).toBe('0.0.0.0');
    expect(defaultConfig({ ...all, HOST: '127.0.0.1' }).server.host).toBe('127.0.0.1');
  });

  it('resolves the config path: CLI, then CHATOPS_BRIDGE_CONFIG, then ./chatops-bridge.yaml', () => {
    expect(resolveConfigPath('/etc/cb.yaml', { CHATOPS_BRIDGE_CONFIG: '/x.yaml' })).toBe('/etc/cb.yaml');
    expect(resolveConfigPath(undefined, { CHATOPS_BRIDGE_CONFIG: '/x.yaml' })).toBe('/x.yaml');
    expect(resolveConfigPath(undefined, {})).toBe('./chatops-bridge.yaml');
  });
});

describe('store', () => {
  it('selects PostgreSQL by url (from the environment), SQLite by path or by default', () => {
    expect(okConfig(loadConfigText(`store:\n  url: \${DATABASE_URL}\n${MINIMAL}`, { DATABASE_URL: 'postgres://bridge:pw@db:5432/chatops' })).store).toEqual({ engine: 'postgres', url: 'postgres://bridge:pw@db:5432/chatops' });
    expect(okConfig(loadConfigText(`store:\n  path: ./x.db\n${MINIMAL}`, {})).store).toEqual({ engine: 'sqlite', path: './x.db' });
    expect(okConfig(loadConfigText(MINIMAL, {})).store).toEqual({ engine: 'sqlite', path: './data/chatops-bridge.db' });
  });

  it('refuses both at once, and a url that is not PostgreSQL, on the right line', () => {
    expect(problemsOf(loadConfigText(`store:\n  path: ./x.db\n  url: postgres://db/x\n${MINIMAL}`, {}))).toEqual([{ path: 'store', line: 1, message: 'set either path (a SQLite file) or url (PostgreSQL), not both' }]);
    const p = problemsOf(loadConfigText(`store:\n  url: mysql://db/x\n${MINIMAL}`, {}));
    expect(p).toEqual([{ path: 'store.url', line: 2, message: expect.stringMatching(/must be a PostgreSQL URL/) }]);
  });
});

describe('server.role', () => {
  it('is all by default; receiver and worker are accepted with a PostgreSQL store', () => {
    expect(okConfig(loadConfigText(MINIMAL, {})).server.role).toBe('all');
    for (const role of ['receiver', 'worker', 'all']) {
      expect(okConfig(loadConfigText(`server: { role: ${role} }\nstore: { url: postgres://db/x }\n${MINIMAL}`, {})).server.role).toBe(role);
    }
  });

  it('refuses an unknown role, and receiver or worker on SQLite, on the line of server.role', () => {
    expect(problemsOf(loadConfigText(`server:\n  role: both\n${MINIMAL}`, {}))).toEqual([{ path: 'server.role', line: 2, message: 'must be one of all, receiver, worker' }]);
    expect(problemsOf(loadConfigText(`server:\n  role: receiver\nstore: { path: ./x.db }\n${MINIMAL}`, {}))).toEqual([
      { path: 'server.role', line: 2, message: expect.stringMatching(/^role "receiver" needs a PostgreSQL store \(store.url\): a SQLite store is served by one process/) },
    ]);
  });
});
