/**
 * slackFetch (the Slack client's transport) against Node's fetch: the same Web API calls through the real WebClient,
 * over real HTTP to the fake and to a raw server, must come to the same results and the same send outcomes
 * (classifySlackError), so the outbox retries, gives up and logs as it did with fetch. Network failures are checked
 * against the reasons the bridge gives (docs/slack.md), not against fetch here: under Jest, fetch's errors come from
 * another realm, fail the SDK's `instanceof Error` and lose their cause ("network: request failed"), which the
 * bridge's own process never sees.
 */
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import zlib from 'node:zlib';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import { slackFetch } from '../src/destinations/slack-fetch';
import { classifySlackError } from '../src/destinations/slack-errors';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, setLevel: () => {}, getLevel: () => 'error' as never, setName: () => {} };
const C1 = 'C0123456789';
const transports = { fetch: undefined, slackFetch } as const;

/** The call's result, or its outcome as the destination would classify the error. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    const result = (await call()) as Record<string, unknown>;
    return { result };
  } catch (error) {
    return { outcome: classifySlackError(error) };
  }
}

/** Every transport's outcome of `call` (each with a fresh client). */
async function both(url: string, call: (client: WebClient) => Promise<unknown>, opts: WebClientOptions = {}, token = 'xoxb-test'): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, fetch] of Object.entries(transports)) {
    const client = new WebClient(token, { slackApiUrl: url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quiet, ...opts, ...(fetch ? { fetch } : {}) });
    out[name] = await outcome(() => call(client));
  }
  return out;
}

describe('slackFetch against the fake Slack', () => {
  let fake: FakeSlack;
  beforeEach(async () => {
    fake = await startFakeSlack();
  });
  afterEach(() => fake.close());

  it('posts the same form and reads the same answer', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'Über *bold* ✓', verbatim: true } }];
    const out = await both(fake.url, (c) => c.chat.postMessage({ channel: C1, text: 'x ✓ & y=z', blocks: JSON.stringify(blocks) as never, unfurl_links: false }));
    expect(out.slackFetch).toEqual({ result: expect.objectContaining({ ok: true, channel: C1, ts: expect.any(String) }) });
    expect(Object.keys((out.slackFetch as { result: object }).result).sort()).toEqual(Object.keys((out.fetch as { result: object }).result).sort());
    const [viaFetch, viaSlackFetch] = fake.requests;
    expect(viaSlackFetch!.rawBody).toBe(viaFetch!.rawBody);
    expect(viaSlackFetch!.body).toMatchObject({ channel: C1, text: 'x ✓ & y=z', blocks });
    for (const header of ['content-type', 'authorization', 'user-agent', 'content-length']) expect(viaSlackFetch!.headers[header]).toBe(viaFetch!.headers[header]);
  });

  it('sends a token that ends in a newline (read from a secret file) trimmed, as fetch does', async () => {
    const out = await both(fake.url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }), {}, 'xoxb-test\n');
    expect(out.fetch).toEqual({ result: expect.objectContaining({ ok: true }) });
    expect(out.slackFetch).toEqual({ result: expect.objectContaining({ ok: true }) });
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer xoxb-test', 'Bearer xoxb-test']);
  });

  it.each([
    ['a 429', { kind: 'rateLimit', retryAfterSec: 7 }],
    ['a 500', 500],
    ['an ok:false error', { kind: 'error', error: 'invalid_blocks' }],
    ['a retryable ok:false error', { kind: 'error', error: 'internal_error' }],
  ] as const)('comes to the same outcome on %s', async (_name, fault) => {
    fake.failNext(2, fault as never, 'chat.postMessage');
    const out = await both(fake.url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
    expect(out.slackFetch).toEqual(out.fetch);
    expect(out.slackFetch).toHaveProperty('outcome');
  });

  it('gives a socket reset as a retryable network failure', async () => {
    fake.failNext(1, 'reset', 'chat.postMessage');
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 }, logger: quiet, fetch: slackFetch });
    await expect(outcome(() => client.chat.postMessage({ channel: C1, text: 'x' }))).resolves.toEqual({ outcome: { kind: 'retryable', reason: 'network: ECONNRESET' } });
  });

  it('ends a request that hangs with the reason of its signal, as fetch does (network: timeout)', async () => {
    fake.behaviour = (r) => (r.route === 'chat.postMessage' ? 'hang' : undefined);
    const error = await slackFetch(`${fake.url}chat.postMessage`, { method: 'POST', body: 'channel=C1', signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    // What the bridge's process then gives (the SDK keeps the error as `original`).
    expect(classifySlackError({ code: 'slack_webapi_request_error', original: error })).toEqual({ kind: 'retryable', reason: 'network: timeout' });
    expect(fake.requests.map((r) => r.outcome)).toEqual(['hang']);
  });
});

describe('slackFetch against a raw server', () => {
  let server: http.Server;
  let url: string;
  const sockets = new Set<Socket>();
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  beforeAll(async () => {
    server = http.createServer((req, res) => req.resume().on('end', () => answer(req, res)));
    server.on('connection', (s) => sockets.add(s).size && s.on('close', () => sockets.delete(s)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads a compressed answer it did not ask for', async () => {
    for (const [encoding, encode] of [['gzip', zlib.gzipSync], ['deflate', zlib.deflateSync], ['br', zlib.brotliCompressSync]] as const) {
      answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(encode(JSON.stringify({ ok: true, ts: '1.000100', channel: C1 })));
      const out = await both(url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
      expect(out.slackFetch).toEqual({ result: expect.objectContaining({ ok: true, ts: '1.000100' }) });
      expect(out.slackFetch).toEqual(out.fetch);
    }
  });

  it('refuses a redirect, as fetch with redirect: error does', async () => {
    answer = (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
    const out = await both(url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
    expect(out.slackFetch).toEqual({ outcome: expect.objectContaining({ kind: 'retryable' }) });
    expect((out.fetch as { outcome: unknown }).outcome).toMatchObject({ kind: 'retryable' });
  });

  it('fails as fetch does when the answer is cut short', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":tr');
      setImmediate(() => res.socket?.destroy());
    };
    const out = await both(url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
    expect(out.slackFetch).toEqual({ outcome: expect.objectContaining({ kind: 'retryable' }) });
    expect((out.fetch as { outcome: unknown }).outcome).toMatchObject({ kind: 'retryable' });
  });

  it('says which address refused the connection', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: 'http://127.0.0.1:9/api/', retryConfig: { retries: 0 }, logger: quiet, fetch: slackFetch });
    await expect(outcome(() => client.chat.postMessage({ channel: C1, text: 'x' }))).resolves.toEqual({ outcome: { kind: 'retryable', reason: 'network: ECONNREFUSED 127.0.0.1:9' } });
  });
});

describe('slackFetch against a raw socket', () => {
  let server: net.Server;
  let url: string;
  let reply: Buffer;
  beforeAll(async () => {
    // Answers each connection's first request with `reply`, byte for byte, whatever it holds after the answer.
    server = net.createServer((socket) => socket.on('error', () => {}).once('data', () => socket.write(reply)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  const json = '{"ok":true,"ts":"1.000100","channel":"C0123456789"}';
  const head = (length: number) => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

  it.each([
    ['a content-length body', Buffer.from(`${head(json.length)}${json}XYZ`)],
    ['a chunked body', Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\nJUNK`)],
  ])('keeps a whole answer (%s) that stray bytes follow in the same read: the post was made, failing it would post again', async (_name, bytes) => {
    reply = bytes;
    const out = await both(url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
    expect(out.fetch).toEqual({ result: expect.objectContaining({ ok: true, ts: '1.000100' }) });
    expect(out.slackFetch).toEqual(out.fetch);
  });

  it('reads an answer that starts with a byte order mark, as fetch does', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);
    reply = Buffer.concat([Buffer.from(head(body.length)), body]);
    const out = await both(url, (c) => c.chat.postMessage({ channel: C1, text: 'x' }));
    expect(out.fetch).toEqual({ result: expect.objectContaining({ ok: true, ts: '1.000100' }) });
    expect(out.slackFetch).toEqual(out.fetch);
  });
});
