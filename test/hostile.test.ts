/**
 * Hostile input at the receiver of a running bridge (issue "Measured, not claimed", point 4). Hand-written and
 * property-based (fast-check) requests, sent as exact bytes over node:net, hit POST /webhooks/panther,
 * /slack/events and /discord/interactions. Every case must end in a 2xx, or a 4xx with a JSON `error` (never a
 * 5xx, a crash, an error log line or a hang), without stalling the event loop for long; after each batch a normal
 * alert is still accepted and the built-in prototypes are untouched. Accepted hostile alerts that are routed must
 * also be delivered, to the loopback Slack and Discord fakes, without a single violation.
 *
 * Event-loop stalls are read from perf_hooks' monitorEventLoopDelay (10 ms resolution) around each request — for
 * routed alerts around the whole path to the fakes — in this process, which also runs the fakes and the client.
 * Measured on the 2-core dev machine while another job kept it loaded (load average ~2.7): the longest stall of a
 * run was 83–125 ms, for the 20,000-object alertContexts (V8's JSON.parse of such a body alone takes 30–40 ms
 * here, and the worker parses it again) and the 900 KB title; other large cases 40–60 ms; the median request
 * 0 ms. Before the fixes this suite led to, the same cases stalled for 540–600 ms (a 900 KB title's Slack
 * render), 260–490 ms (20,000 objects) and ~150 ms (refusing 500,000 nested arrays). The bound asserted is a
 * generous 200 ms; a case over it is re-measured (fresh input) up to twice, since a loaded machine adds stray
 * pauses that a real stall would repeat. The readings are printed at the end of each run.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { startBridge, type RunningBridge } from '../src/bridge';
import { jsonDepthExceeds, jsonTextDepthExceeds } from '../src/http/json-depth';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from './helpers/fake-discord';
import { harnessConfig, PANTHER_TOKEN, postAlert } from './helpers/bridge-harness';
import { makeAlertPayload } from './helpers/fixtures';
import { discordKeys, SLACK_SIGNING_SECRET, until } from './helpers/interactions';
import { recordFigures } from './helpers/figures';
import { BlockMeter, capturingLogger, httpPost, pollutionProbe, prototypeSnapshot, rawRequest, type RawOptions, type RawResponse } from './helpers/hostile';

jest.setTimeout(60_000);

const BODY_LIMIT = 1_048_576;
/** Asserted per request; see the header comment for what is actually measured. */
const MAX_BLOCK_MS = 200;
const PANTHER = '/webhooks/panther';

const keys = discordKeys();
const meter = new BlockMeter();
const captured = capturingLogger();
const baseline = { prototypes: prototypeSnapshot(), probe: pollutionProbe() };
const processErrors: unknown[] = [];
const onProcessError = (error: unknown) => void processErrors.push(error);

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;

beforeAll(async () => {
  process.on('uncaughtException', onProcessError);
  process.on('unhandledRejection', onProcessError);
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  const config = harnessConfig({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl: discord.webhookUrl(),
    slackSigningSecret: SLACK_SIGNING_SECRET,
    discordPublicKey: keys.publicKeyHex,
    // Only alerts tagged "deliver" are sent; the rest are accepted unrouted, so fuzzing does not flood the fakes.
    routesYaml: 'routes:\n  - name: hostile\n    match: { tags: { any: [deliver] } }\n    to: [soc-slack, soc-discord, lab-hook]\n    digest: off',
  });
  bridge = await startBridge(config, captured.logger, 0);
  // Warm-up: the first render of each template compiles it (Handlebars compiles lazily), a one-off cost that
  // would otherwise be charged to whichever hostile case comes first.
  await deliverable('warm-up', () => routed());
  meter.start();
});

afterAll(async () => {
  meter.stop();
  // For the record (the header comment quotes typical values).
  recordFigures('hostile.test', `event-loop stalls: ${meter.summary(8)}`);
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
  process.off('uncaughtException', onProcessError);
  process.off('unhandledRejection', onProcessError);
});

// --- requests and checks ---------------------------------------------------------------------------------------

const pantherHeaders = (extra: Record<string, string | number | undefined> = {}) => ({
  'Content-Type': 'application/json',
  'X-Panther-Token': PANTHER_TOKEN,
  ...extra,
});

const toBytes = (body: unknown): Buffer => (Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8'));

interface Expectation {
  /** Statuses this case may end with (default: any 2xx or 4xx). */
  status?: number[];
  /** The answer may come from Node's HTTP parser or Bolt (no JSON body), or the connection may just close. */
  bare?: boolean;
}

/** Throws, naming the case, unless `res` is a clean 2xx/4xx as `expectation` allows. */
function check(label: string, res: RawResponse, expectation: Expectation = {}, options: RawOptions = {}): void {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`answered ${res.status} ${res.body.slice(0, 200)}`);
  if (res.status === 0 && !expectation.bare && options.after !== 'end' && options.after !== 'destroy') problems.push('connection closed without an answer');
  if (res.status !== 0 && (res.status < 200 || res.status >= 500)) problems.push(`unexpected status ${res.status}`);
  if (res.status >= 400 && res.status < 500 && !expectation.bare) {
    if (!/^application\/json/.test(res.headers['content-type'] ?? '') || typeof res.json?.error !== 'string') {
      problems.push(`4xx without a JSON error: ${res.headers['content-type']} ${res.body.slice(0, 200)}`);
    }
  }
  if (expectation.status && !expectation.status.includes(res.status)) problems.push(`status ${res.status}, expected one of ${expectation.status.join('/')}: ${res.body.slice(0, 300)}`);
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}

function checkStall(label: string, blockMs: number): void {
  if (blockMs >= MAX_BLOCK_MS) throw new Error(`${label}: event loop blocked ${blockMs.toFixed(0)} ms on every attempt`);
}

/** Sends one request (re-sent when the stall must be re-measured), checks every answer is a clean 2xx/4xx. */
async function hit(label: string, request: Buffer | (() => Buffer), expectation: Expectation = {}, options: RawOptions = {}): Promise<RawResponse> {
  const { value: res, blockMs } = await meter.bounded(label, MAX_BLOCK_MS, async () => {
    const answer = await rawRequest(bridge.port, typeof request === 'function' ? request() : request, options).catch((error: Error) => {
      throw new Error(`${label}: ${error.message}`);
    });
    check(label, answer, expectation, options);
    return answer;
  });
  checkStall(label, blockMs);
  return res;
}

/** POSTs `body` (or, for a case whose every attempt needs fresh input, what `body()` returns) to the Panther webhook. */
const panther = (label: string, body: unknown, expectation: Expectation = {}, headers: Record<string, string | number | undefined> = {}, options: RawOptions = {}) =>
  hit(label, () => httpPost(PANTHER, toBytes(typeof body === 'function' ? (body as () => unknown)() : body), pantherHeaders(headers)), expectation, options);

/** After a batch: a normal alert is still accepted, nothing polluted a prototype, nothing crashed or logged an error. */
async function stillHealthy(): Promise<void> {
  const res = await postAlert(bridge, makeAlertPayload());
  expect([res.status, res.body.status]).toEqual([200, 'accepted']);
  expect(prototypeSnapshot()).toEqual(baseline.prototypes);
  expect(pollutionProbe()).toEqual(baseline.probe);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(processErrors).toEqual([]);
  const errors = captured.lines().filter((line) => line.level >= 50 || (typeof line.status === 'number' && line.status >= 500));
  expect(errors).toEqual([]);
}

const slackPosts = () => slack.messages.filter((m) => m.method === 'chat.postMessage').length;
const discordCreates = () => discord.messages.filter((m) => m.kind === 'create').length;

/**
 * Posts an accepted, routed hostile alert (built by `make`, fresh for each attempt so it is never a duplicate) and
 * waits until all three destinations have it (Slack bot, Discord bot, Discord webhook), measuring the stall over
 * the whole path: ingest, render, fit, send.
 */
async function deliverable(label: string, make: () => Record<string, unknown> | Buffer | string): Promise<void> {
  const { blockMs } = await meter.bounded(label, MAX_BLOCK_MS, async () => {
    const request = httpPost(PANTHER, toBytes(make()), pantherHeaders());
    const before = { slack: slackPosts(), discord: discordCreates() };
    const res = await rawRequest(bridge.port, request);
    check(label, res, { status: [200] });
    expect([label, res.json.status, res.json.deliveries.length]).toEqual([label, 'accepted', 3]);
    await until(() => slackPosts() > before.slack && discordCreates() >= before.discord + 2 && bridge.store!.counts().pending === 0, 15_000, `${label} delivered`).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(bridge.store!.ledger().list({ limit: 3 }))} ${JSON.stringify([...slack.violations, ...discord.violations])}`);
    });
    expect([label, bridge.store!.counts().pending, bridge.store!.counts().dead]).toEqual([label, 0, 0]);
    expect([label, slack.violations, discord.violations]).toEqual([label, [], []]);
  });
  checkStall(label, blockMs);
}

/** A valid alert routed to the fakes. */
const routed = (overrides: Record<string, unknown> = {}) => makeAlertPayload({ tags: ['deliver'], ...overrides }) as unknown as Record<string, unknown>;

/** `depth` levels of `{"a": …}` around `leaf`, as JSON text (built iteratively). */
const nestedObjects = (depth: number, leaf = '"bottom"') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
const nestedArrays = (depth: number, leaf = '0') => '['.repeat(depth) + leaf + ']'.repeat(depth);

/** A routed alert as JSON text whose alertContext is the given JSON text. */
const withContextText = (contextJson: string) => {
  const text = JSON.stringify(routed({ alertContext: { placeholder: 0 } }));
  return text.replace('{"placeholder":0}', contextJson);
};

/** `chatops_payload_defaults_total{source,field}` as the bridge's /metrics shows it now. */
async function defaultsCounted(source: string, field: string): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`chatops_payload_defaults_total{source="${source}",field="${field}"}`));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

/** Every string field of the payload (and alertContext keys and values) set to `value`, except the ones that must parse. */
const everyStringField = (value: string) =>
  routed({
    id: `Hostile.${value}`,
    title: `title ${value}`,
    name: `name ${value}`,
    alertId: `alert-${value}-${Math.random().toString(16).slice(2)}`,
    description: `description ${value}`,
    runbook: `runbook ${value}`,
    version: `version ${value}`,
    tags: ['deliver', `tag ${value}`, value],
    alertContext: { [`key ${value}`]: `value ${value}`, nested: { [value]: [value, { deeper: value }] }, list: [value, value] },
  });

// --- cases --------------------------------------------------------------------------------------------------

describe('POST /webhooks/panther under hostile input', () => {
  afterEach(stillHealthy);

  it('size: huge strings, bodies at and over the 1 MiB limit, lying and huge Content-Length', async () => {
    await deliverable('900 KB title', () => routed({ title: `T${'\u202e<!channel> '.repeat(900_000 / 13)}` }));
    await deliverable('600 KB description and runbook', () => routed({ description: 'd'.repeat(600_000), runbook: `https://runbooks.example.com/${'r'.repeat(300_000)}` }));
    // Every URL in alert text is defanged: 75,000 of them in the title, name and description must not stall.
    await deliverable('900 KB of URLs in title, name and description', () => routed({ title: 'http://a.b/ '.repeat(25_000), name: 'http://e.f/ '.repeat(25_000), description: 'http://c.d/ '.repeat(25_000) }));

    const atLimit = () => {
      const base = JSON.stringify(routed({ description: '' }));
      return base.replace('"description":""', `"description":"${'x'.repeat(BODY_LIMIT - Buffer.byteLength(base))}"`);
    };
    expect(Buffer.byteLength(atLimit())).toBe(BODY_LIMIT);
    await deliverable('body of exactly 1 MiB', atLimit);
    const overLimit = atLimit().replace('"description":"', '"description":"y');
    expect(Buffer.byteLength(overLimit)).toBe(BODY_LIMIT + 1);
    expect((await panther('1 MiB + 1 byte', overLimit, { status: [413] })).json).toEqual({ error: 'payload_too_large', message: 'body over the 1 MiB limit' });
    await panther('5 MiB body', routed({ description: 'z'.repeat(5 * BODY_LIMIT) }), { status: [413] });
    // Refused on the header alone; the body parser then reads off what comes (as it should, so the client can read
    // the answer) until the client closes. (Keeping the socket open instead is a slow sender: hostile-slow.test.ts.)
    const lying = Buffer.concat([httpPost(PANTHER, '', pantherHeaders({ 'Content-Length': 100 * BODY_LIMIT })), Buffer.from('{"id":')]);
    await hit('Content-Length 100 MiB, 6 bytes sent, then FIN', lying, { status: [0, 400, 413], bare: true }, { after: 'end' });
    // Unauthenticated bodies are refused before they are read.
    await panther('5 MiB without a token', 'a'.repeat(5 * BODY_LIMIT), { status: [401] }, { 'X-Panther-Token': undefined });
  });

  it('depth: 1,000 levels in alertContext and at the top, 500,000 levels, and 250 levels that are deliverable', async () => {
    const tooDeep = async (label: string, body: string) => {
      const res = await panther(label, body, { status: [400] });
      expect([label, res.json.error]).toEqual([label, 'invalid_payload']);
    };
    await tooDeep('1,000 nested objects in alertContext', withContextText(nestedObjects(1000)));
    await tooDeep('1,000 nested arrays in alertContext', withContextText(`{"a":${nestedArrays(1000)}}`));
    await tooDeep('1,000 nested objects at the top', nestedObjects(1000, JSON.stringify(routed())));
    await tooDeep('1,000 nested arrays at the top', nestedArrays(1000));
    await tooDeep('500,000 nested arrays (1 MB)', nestedArrays(500_000));
    await tooDeep('500,000 unclosed arrays', '['.repeat(500_000));
    await tooDeep('200,000 unclosed objects', '{"a":'.repeat(200_000));
    // Just under the limit (alertContext itself is level 2): accepted, and every render step copes with the depth.
    await deliverable('250 levels in alertContext', () => withContextText(nestedObjects(250, JSON.stringify({ leaf: '<!channel>' }))));
  });

  it('width: 20,000-element arrays and 2,000-key objects in alertContext, 20,000 tags, 2,000 unknown top-level keys', async () => {
    await deliverable('20,000-element array', () => routed({ alertContext: { ips: Array.from({ length: 20_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) } }));
    await deliverable('20,000 small objects', () => routed({ alertContext: { events: Array.from({ length: 20_000 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}`, n: i })) } }));
    // The worst shape for V8 (each object its own hidden class): its JSON.parse alone takes 30–40 ms here.
    await deliverable('20,000 objects, each with its own key', () => routed({ alertContext: { events: Array.from({ length: 20_000 }, (_, i) => ({ [`k${i}`]: i })) } }));
    await deliverable('2,000-key object', () => routed({ alertContext: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`key_${i}`, `<@U${i}> value ${i}`])) }));
    await deliverable('2,000 keys × 10 values', () => routed({ alertContext: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, Array.from({ length: 10 }, (_, j) => j)])) }));
    await deliverable('20,000 tags', () => routed({ tags: ['deliver', ...Array.from({ length: 20_000 }, (_, i) => `tag-${i}`)] }));
    await deliverable('2,000 unknown top-level keys', () => ({ ...routed(), ...Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`extra_${i}`, { i }])) }));
  });

  it('text: lone surrogates (escaped and raw), NUL and bidi controls in every string field', async () => {
    for (const [label, value] of [
      ['lone high surrogate', '\ud800'],
      ['lone low surrogate', '\udfff'],
      ['reversed pair', '\udc00\ud800'],
      ['NUL', '\u0000'],
      ['bidi overrides and isolates', '\u202e\u202d\u2066\u2067\u2068\u2069\u200f\u061c'],
      ['every C0 control', Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('')],
      ['zero-width and BOM', '\u200b\u200c\u200d\u2060\ufeff'],
    ] as const) {
      // JSON.stringify writes lone surrogates as \ud800 escapes.
      await deliverable(`${label} (escaped)`, () => everyStringField(value));
    }
    // Raw: a surrogate encoded as bytes (ED A0 80, invalid UTF-8, as WTF-8/CESU-8 writers produce it).
    const rawSurrogates = () => {
      const parts = JSON.stringify(everyStringField('@@S@@')).split('@@S@@');
      return Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(part)])));
    };
    await deliverable('lone surrogate (raw bytes ED A0 80)', rawSurrogates);
    // A link takes them percent-encoded (WHATWG URL parsing), so the button still points at the alert's host.
    await deliverable('NUL and bidi in the link', () => routed({ link: 'https://acme.runpanther.net/alerts/\u0000\u202e/\ud800' }));
    // The fields that must parse take control characters as unreadable: the alert is still delivered, with that
    // field defaulted and counted (a 400 would lose it), never with the control characters in it.
    for (const field of ['severity', 'type', 'createdAt']) {
      const payload = routed();
      payload[field] = `${String(payload[field])}\u0000\u202e`;
      await deliverable(`NUL in ${field}`, () => ({ ...payload, alertId: `nul-${field}-${Math.random().toString(16).slice(2)}` }));
      expect(await defaultsCounted('panther', field)).toBeGreaterThan(0);
    }
  });

  it('bytes: invalid UTF-8 in strings is replaced, in structure or as another encoding it is a 400', async () => {
    const withBytes = (bytes: number[]) => {
      const [head, tail] = JSON.stringify(routed({ title: 'before@@after' })).split('@@') as [string, string];
      return Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
    };
    for (const [label, bytes] of [
      ['0xFF', [0xff]],
      ['overlong "/"', [0xc0, 0xaf]],
      ['lone continuation bytes', [0x80, 0xbf]],
      ['truncated 3-byte sequence', [0xe2, 0x82]],
      ['5-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
      ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ] as const) {
      await deliverable(`invalid UTF-8 in title: ${label}`, () => withBytes([...bytes]));
    }
    const valid = JSON.stringify(routed());
    await panther('0xFF between tokens', Buffer.concat([Buffer.from(valid.slice(0, 1)), Buffer.from([0xff]), Buffer.from(valid.slice(1))]), { status: [400] });
    await panther('UTF-16LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(valid, 'utf16le')]), { status: [400] });
    await panther('UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid)]), { status: [400] });
    await panther('only NUL bytes', Buffer.alloc(1000), { status: [400] });
    await panther('empty body', '', { status: [400] });
  });

  it('prototype pollution: __proto__, constructor and prototype at every level change nothing', async () => {
    const poison = (depth: number): string => {
      const inner = depth === 0 ? '{"polluted":"yes","isAdmin":true}' : poison(depth - 1);
      return `{"__proto__":${inner},"constructor":{"prototype":${inner}},"prototype":${inner},"x":{"__proto__":{"x":1}},"list":[${inner}]}`;
    };
    // At the top level, in alertContext, and nested five deep inside it.
    const poisoned = () =>
      withContextText(poison(5)).replace(/^\{/, `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"isAdmin":true},`);
    await deliverable('__proto__/constructor/prototype at every level', poisoned);
    // Names that are also Object.prototype members, in every string field and as tags.
    await deliverable('prototype member names as values', () => everyStringField('__proto__'));
    await deliverable('constructor/toString/hasOwnProperty as keys', () => routed({ alertContext: { constructor: 'c', toString: 't', hasOwnProperty: 'h', valueOf: { __defineGetter__: 1 } } }));
    // Fields hidden behind __proto__ are not read through the prototype: nothing to show, a 400, not an alert.
    const hidden = await panther('required fields only under __proto__', `{"__proto__":${JSON.stringify(routed())}}`, { status: [400] });
    expect(hidden.json.issues).toEqual([{ path: '(body)', message: expect.stringMatching(/nothing to show/) }]);
    await panther('alertContext as __proto__ array', () => withContextText('{"__proto__":[]}'), { status: [200] });
  });

  it('duplicate keys: the last one wins, consistently (and a retry with other duplicates is the same alert)', async () => {
    const text = JSON.stringify(routed());
    // The last, unreadable, severity is the one read: defaulted and counted, not a 400.
    const before = await defaultsCounted('panther', 'severity');
    await panther('severity HIGH then invalid', text.replace('"severity":"HIGH"', '"severity":"HIGH","severity":"nope"'), { status: [200] });
    expect(await defaultsCounted('panther', 'severity')).toBeGreaterThan(before);
    // (Accepted; a re-measured attempt would be its duplicate, hence either.)
    const first = await panther('severity invalid then HIGH', text.replace('"severity":"HIGH"', '"severity":"nope","severity":"HIGH"'), { status: [200] });
    expect(['accepted', 'duplicate']).toContain(first.json.status);
    // The same alert without the duplicates: a retry, not a new alert.
    expect((await panther('the same alert, plain', text, { status: [200] })).json.status).toBe('duplicate');
    expect((await panther('__proto__ twice', text.replace(/^\{/, '{"__proto__":{"a":1},"__proto__":{"polluted":"yes"},'), { status: [200] })).json.status).toBe('duplicate');
    // The shadowed values (a 500 KB alertContext among them) are dropped; the last ones are delivered.
    await deliverable('title twice, alertContext twice (huge first)', () =>
      JSON.stringify(routed({ title: 'last title' })).replace(/^\{/, `{"title":"first","alertContext":{"big":"${'b'.repeat(500_000)}"},`),
    );
    const posted = slack.messages.filter((m) => m.method === 'chat.postMessage').at(-1)!;
    expect(String(posted.args.text)).toContain('last title');
    expect(JSON.stringify(posted.args)).not.toContain('bbbbbbbbbb');
  });

  it('content types: only JSON types get in, whatever the body; encodings are decoded within the limit', async () => {
    const body = () => JSON.stringify(routed());
    const expectStatus = async (label: string, headers: Record<string, string | undefined>, status: number, payload: Buffer | string | (() => string) = body) => {
      const res = await panther(`Content-Type ${label}`, payload, { status: [status] }, headers);
      if (status === 200) expect(res.json.status).toBe('accepted');
    };
    await expectStatus('text/plain', { 'Content-Type': 'text/plain' }, 415);
    await expectStatus('multipart/form-data', { 'Content-Type': 'multipart/form-data; boundary=XyZ' }, 415, `--XyZ\r\nContent-Disposition: form-data; name="payload"\r\n\r\n${body()}\r\n--XyZ--\r\n`);
    await expectStatus('none', { 'Content-Type': undefined }, 415);
    await expectStatus('empty', { 'Content-Type': '' }, 415);
    await expectStatus('application/x-www-form-urlencoded', { 'Content-Type': 'application/x-www-form-urlencoded' }, 415, `payload=${encodeURIComponent(body())}`);
    await expectStatus('application/jsonx', { 'Content-Type': 'application/jsonx' }, 415);
    await expectStatus('a list of types', { 'Content-Type': 'text/plain, application/json' }, 415);
    await expectStatus('application/json; charset=utf-8', { 'Content-Type': 'application/json; charset=utf-8' }, 200);
    await expectStatus('APPLICATION/JSON;CHARSET=UTF-8', { 'Content-Type': 'APPLICATION/JSON;CHARSET=UTF-8' }, 200);
    await expectStatus('application/json; charset=iso-8859-1', { 'Content-Type': 'application/json; charset=iso-8859-1' }, 200);
    await expectStatus('application/vnd.panther+json', { 'Content-Type': 'application/vnd.panther+json' }, 200);
    // Content-Encoding: decoded by the body parser, with the limit applied to the decoded size.
    await expectStatus('json, gzip', { 'Content-Encoding': 'gzip' }, 200, gzipSync(body()));
    await expectStatus('json, gzip bomb (64 MiB of zeros)', { 'Content-Encoding': 'gzip' }, 413, gzipSync(Buffer.alloc(64 * BODY_LIMIT)));
    await expectStatus('json, gzip garbage', { 'Content-Encoding': 'gzip' }, 400, Buffer.from('not gzip at all'));
    await expectStatus('json, unknown encoding', { 'Content-Encoding': 'x-made-up' }, 415);
    // Chunked: fine when well-formed; a broken chunk is refused by Node's parser (a bare 400, connection closed).
    const chunked = () => {
      const json = body();
      return Buffer.from(`POST ${PANTHER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-Panther-Token: ${PANTHER_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(json).toString(16)}\r\n${json}\r\n0\r\n\r\n`);
    };
    expect((await hit('chunked', chunked, { status: [200] })).json.status).toBe('accepted');
    const broken = Buffer.from(`POST ${PANTHER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-Panther-Token: ${PANTHER_TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`);
    await hit('broken chunk size', broken, { status: [0, 400], bare: true });
  });

  it('truncated bodies: Content-Length larger than the body, then the socket closes', async () => {
    const json = JSON.stringify(routed());
    for (const after of ['end', 'destroy'] as const) {
      for (const [label, declared, sent] of [
        ['half a body', Buffer.byteLength(json), json.slice(0, json.length >> 1)],
        ['headers only', 5000, ''],
        ['100 bytes of 900 KB', 900_000, json.slice(0, 100)],
      ] as const) {
        const request = Buffer.concat([httpPost(PANTHER, '', pantherHeaders({ 'Content-Length': declared })), Buffer.from(sent)]);
        await hit(`${label}, then ${after}`, request, { status: [0, 400], bare: true }, { after });
      }
    }
    // Headers cut off mid-line.
    await hit('headers cut mid-line', Buffer.from(`POST ${PANTHER} HTTP/1.1\r\nHost: x\r\nContent-Ty`), { status: [0, 400], bare: true }, { after: 'end' });
    // Give the server a moment to notice the closed sockets before the health check.
    await new Promise((r) => setTimeout(r, 100));
  });

  it('random JSON shapes (fast-check): any JSON text or serialised value gets a clean 2xx/4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 6, stringUnit: 'binary' }), async (text) => {
        await panther('fc.json', text, {});
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.anything({ maxDepth: 5, withBoxedValues: true, withNullPrototype: true, withObjectString: true, stringUnit: 'binary' }), async (value) => {
        const text = JSON.stringify(value);
        await panther('fc.anything', text === undefined ? 'undefined' : text, {});
      }),
      { numRuns: 150 },
    );
  });

  it('the depth pre-check on the raw bytes agrees with the check on the parsed value (fast-check)', () => {
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'large', maxDepth: 40 }, fc.jsonValue({ maxDepth: 0, stringUnit: 'binary' }), fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), tie('tree'), { maxKeys: 3 })),
    }));
    const brackets = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'x'), maxLength: 8 });
    fc.assert(
      fc.property(tree, fc.integer({ min: 1, max: 12 }), brackets, (value, limit, inside) => {
        const text = JSON.stringify({ s: inside, v: value, t: `${inside}"` });
        expect(jsonTextDepthExceeds(Buffer.from(text), limit)).toBe(jsonDepthExceeds(JSON.parse(text), limit));
      }),
      { numRuns: 2000 },
    );
  });

  it('random alertContext, tags and text fields on an otherwise valid alert (fast-check): always accepted', async () => {
    const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''), fc.string({ unit: 'binary', maxLength: 20 }));
    const context = fc.dictionary(key, fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' }), { maxKeys: 30 });
    const text = fc.string({ unit: 'binary', maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(context, fc.array(text, { maxLength: 20 }), text, fc.option(text), async (alertContext, tags, title, description) => {
        const res = await panther('fc valid alert', () => makeAlertPayload({ alertContext, tags, title, description: description ?? undefined }), { status: [200] });
        expect(res.json.status).toBe('accepted');
      }),
      { numRuns: 150 },
    );
    // A few of them all the way to the fakes (slower: three sends each).
    await fc.assert(
      fc.asyncProperty(context, text, async (alertContext, title) => {
        await deliverable('fc routed alert', () => routed({ alertContext, title }));
      }),
      { numRuns: 12 },
    );
  });
});

describe('interactivity endpoints under hostile input', () => {
  afterEach(stillHealthy);
  const now = () => String(Math.floor(Date.now() / 1000));
  const forgedSlack = () => ({ 'X-Slack-Request-Timestamp': now(), 'X-Slack-Signature': `v0=${'0'.repeat(64)}` });

  it('/slack/events: unsigned or forged huge and deep bodies get 401/413/400, never 5xx', async () => {
    const slackPost = (label: string, body: Buffer | string, headers: Record<string, string | undefined>, expectation: Expectation, options: RawOptions = {}) =>
      hit(`slack ${label}`, httpPost('/slack/events', body, { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }), expectation, options);
    // No or malformed signature: refused before the body is read (our guard answers JSON).
    await slackPost('unsigned 3 MiB', `payload=${'a'.repeat(3 * BODY_LIMIT)}`, {}, { status: [401] });
    await slackPost('unsigned 1,000 levels', `payload=${encodeURIComponent(nestedObjects(1000))}`, {}, { status: [401] });
    await slackPost('unsigned 8 MiB JSON', 'x'.repeat(8 * BODY_LIMIT), { 'Content-Type': 'application/json' }, { status: [401] });
    // A well-formed but wrong signature: Bolt reads (≤ 4 MB) and refuses with an empty body.
    await slackPost('forged, 5 MiB', `payload=${'a'.repeat(5 * BODY_LIMIT)}`, forgedSlack(), { status: [413], bare: true });
    await slackPost('forged, 500,000 levels', `payload=${nestedArrays(500_000)}`, forgedSlack(), { status: [401], bare: true });
    await slackPost('forged, invalid UTF-8', Buffer.from([0x70, 0x3d, 0xff, 0xfe, 0xc0, 0xaf]), forgedSlack(), { status: [401], bare: true });
    await slackPost('forged, no content type', '{"__proto__":{"polluted":"yes"}}', { ...forgedSlack(), 'Content-Type': undefined }, { status: [401], bare: true });
    // Body shorter than its Content-Length, then the client closes (a client that keeps it open is a slow sender:
    // see hostile-slow.test.ts).
    await slackPost('forged, truncated', 'payload=', { ...forgedSlack(), 'Content-Length': '1000' }, { status: [0, 400, 401], bare: true }, { after: 'end' });
  });

  it('/discord/interactions: unsigned huge and deep bodies get 401/413; signed hostile bodies get 2xx/4xx', async () => {
    const discordPost = (label: string, body: Buffer | string, headers: Record<string, string | undefined>, expectation: Expectation) =>
      hit(`discord ${label}`, httpPost('/discord/interactions', body, { 'Content-Type': 'application/json', ...headers }), expectation);
    // Signed anew for each attempt: a re-sent signature is a replay (401).
    const signedPost = (label: string, sign: () => { body: string; headers: Record<string, string> }, expectation: Expectation) =>
      hit(`discord ${label}`, () => {
        const request = sign();
        return httpPost('/discord/interactions', request.body, request.headers);
      }, expectation);
    const forged = () => ({ 'X-Signature-Ed25519': 'ab'.repeat(64), 'X-Signature-Timestamp': now() });
    await discordPost('unsigned 900 KB', `{"type":1,"pad":"${'p'.repeat(900_000)}"}`, {}, { status: [401] });
    await discordPost('unsigned 2 MiB', 'x'.repeat(2 * BODY_LIMIT), {}, { status: [413] });
    await discordPost('forged 1,000 levels', nestedObjects(1000), forged(), { status: [401] });
    await discordPost('forged 500,000 levels', nestedArrays(500_000), forged(), { status: [401] });
    await discordPost('forged, gzip bomb', gzipSync(Buffer.alloc(64 * BODY_LIMIT)), { ...forged(), 'Content-Encoding': 'gzip' }, { status: [413] });
    await discordPost('forged, text/plain, invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00]), { ...forged(), 'Content-Type': 'text/plain' }, { status: [401] });
    // Correctly signed (as only Discord could): odd shapes must still not make the handler throw.
    const signed = (label: string, payload: unknown, status: number[]) => signedPost(`signed ${label}`, () => keys.sign(payload), { status });
    await signed('1,000 levels', JSON.parse(nestedObjects(1000)), [200]);
    await signed('__proto__ everywhere', JSON.parse('{"__proto__":{"polluted":"yes"},"type":3,"data":{"__proto__":{"custom_id":"cb:acknowledge:1"}}}'), [200]);
    await signed('wrong types everywhere', { type: 3, id: { x: 1 }, data: { custom_id: 'cb:acknowledge:1' }, member: { roles: 'admin', nick: 7, user: { id: ['1'], username: {} } } }, [200]);
    await signed('user without id', { type: 3, data: { custom_id: 'cb:resolve:1' }, member: { user: { id: null } } }, [200]);
    await signed('type as a string', { type: '1' }, [200]);
    await signedPost('signed invalid JSON', () => keys.signText('{"type":1,'), { status: [400] });
  });
});
