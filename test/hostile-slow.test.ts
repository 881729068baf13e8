/**
 * Slow senders (issue "Measured, not claimed", point 4): a client that dribbles its headers or its body, or
 * declares more body than it sends and keeps the socket open, is cut off after server.headersTimeoutMs /
 * server.requestTimeoutMs (408 or a closed connection), while other clients are served meanwhile. Runs a real
 * listening bridge with small bounds (300 ms / 600 ms) and raw sockets.
 */
import net from 'node:net';
import { startBridge, type RunningBridge } from '../src/bridge';
import { loadConfigText } from '../src/config/load';
import type { Config } from '../src/config/schema';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from './helpers/fake-discord';
import { harnessYaml, PANTHER_TOKEN, postAlert } from './helpers/bridge-harness';
import { makeAlertPayload } from './helpers/fixtures';
import { discordKeys, SLACK_SIGNING_SECRET } from './helpers/interactions';
import { BlockMeter, capturingLogger, httpPost, parseRawResponse, prototypeSnapshot, rawRequest, type RawResponse } from './helpers/hostile';
import { recordFigures } from './helpers/figures';

jest.setTimeout(30_000);

const HEADERS_TIMEOUT_MS = 300;
const REQUEST_TIMEOUT_MS = 600;
/** Node checks the timeouts every min(1000, headersTimeoutMs) ms here; allow that plus scheduling noise. */
const CUT_OFF_WITHIN_MS = REQUEST_TIMEOUT_MS + HEADERS_TIMEOUT_MS + 1500;
/** Event-loop stall allowed while slow clients hang on (generous: a loaded 2-core machine; see hostile.test.ts). */
const MAX_BLOCK_MS = 200;

const keys = discordKeys();
const meter = new BlockMeter();
const captured = capturingLogger();
const baselinePrototypes = prototypeSnapshot();
const env = { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token' };

let slack: FakeSlack;
let discord: FakeDiscord;
let bridge: RunningBridge;
let webhookUrl: string;

function configText(server: string): string {
  return harnessYaml({
    slackUrl: slack.url,
    discordApi: discord.api,
    webhookUrl,
    deliveryThread: false,
    slackSigningSecret: SLACK_SIGNING_SECRET,
    discordPublicKey: keys.publicKeyHex,
    routesYaml: 'routes:\n  - name: nowhere\n    match: { tags: { any: [never] } }\n    to: [soc-slack]',
  }).replace('server: { port: 0, host: 127.0.0.1 }', `server: { port: 0, host: 127.0.0.1${server} }`);
}

function load(server: string) {
  return loadConfigText(configText(server), { ...env, DISCORD_WEBHOOK_URL: webhookUrl });
}

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
  webhookUrl = discord.webhookUrl();
  const loaded = load(`, headersTimeoutMs: ${HEADERS_TIMEOUT_MS}, requestTimeoutMs: ${REQUEST_TIMEOUT_MS}`);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  bridge = await startBridge(loaded.config as Config, captured.logger, 0);
  meter.start();
});

afterAll(async () => {
  meter.stop();
  recordFigures('hostile-slow.test', `event-loop stalls: ${meter.summary()}`);
  await bridge?.stop();
  await slack?.close();
  await discord?.close();
});

afterEach(() => {
  expect(captured.lines().filter((line) => line.level >= 50 || (typeof line.status === 'number' && line.status >= 500))).toEqual([]);
});

interface Dribbled {
  /** When the server closed the connection, ms after connecting. */
  closedAfterMs: number;
  response: RawResponse;
  bytesSent: number;
}

/**
 * Connects, writes `head` at once, then `drip` every `everyMs` until the server closes the connection; fails when
 * it is still open after `giveUpMs`.
 */
function dribble(head: Buffer | string, drip: string, everyMs: number, giveUpMs = 10_000): Promise<Dribbled> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let bytesSent = 0;
    const socket = net.connect(bridge.port, '127.0.0.1');
    const write = (data: Buffer | string) => {
      if (!socket.writable) return;
      bytesSent += Buffer.byteLength(data);
      socket.write(data);
    };
    // The drip starts once connected: a socket buffers writes before that, and a drip due before a slow connect
    // (a loaded machine) went out ahead of the head, a request line of `X-Slow: y` that node refused with a 400.
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      write(head);
      timer = setInterval(() => write(drip), everyMs);
    });
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`still connected after ${giveUpMs} ms (${bytesSent} bytes dribbled): the server never cut it off`));
    }, giveUpMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      const closedAfterMs = Date.now() - started;
      resolve({ closedAfterMs, response: parseRawResponse(Buffer.concat(chunks), closedAfterMs), bytesSent });
    });
  });
}

/** Normal alerts posted while slow clients hang on: every one accepted, none slowed to the slow clients' pace. */
async function serveMeanwhile(whileMs: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = Date.now() + whileMs;
  while (Date.now() < until) {
    const started = Date.now();
    const res = await postAlert(bridge, makeAlertPayload());
    expect([res.status, res.body.status]).toEqual([200, 'accepted']);
    latencies.push(Date.now() - started);
    await new Promise((r) => setTimeout(r, 50));
  }
  return latencies;
}

/** The cut-off: a bare 408 from Node, or the connection closed without an answer; never a 2xx or a 5xx. */
function expectCutOff(label: string, result: Dribbled): void {
  if (process.env.HOSTILE_DEBUG) console.log(label, result.response.status, result.closedAfterMs);
  expect([label, result.response.status === 0 || result.response.status === 408]).toEqual([label, true]);
  expect([label, result.closedAfterMs < CUT_OFF_WITHIN_MS]).toEqual([label, true]);
}

const pantherHead = (contentLength: number) =>
  httpPost('/webhooks/panther', '', { 'Content-Type': 'application/json', 'X-Panther-Token': PANTHER_TOKEN, 'Content-Length': contentLength });

describe('config: server.headersTimeoutMs / server.requestTimeoutMs', () => {
  it('default to 10 s and 30 s, and refuse a headers timeout above the request timeout', () => {
    const defaults = load('');
    expect(defaults.ok && [defaults.config.server.headersTimeoutMs, defaults.config.server.requestTimeoutMs]).toEqual([10_000, 30_000]);
    const inverted = load(', headersTimeoutMs: 5000, requestTimeoutMs: 1000');
    expect(inverted.ok).toBe(false);
    expect(!inverted.ok && inverted.problems.map((p) => p.path)).toContainEqual(expect.stringContaining('headersTimeoutMs'));
  });
});

describe('slow senders are cut off, others are served meanwhile', () => {
  it('headers dribbled one line every 50 ms', async () => {
    const { blockMs } = await meter.bounded('headers dribbled', MAX_BLOCK_MS, async () => {
      const [slow, latencies] = await Promise.all([dribble('POST /webhooks/panther HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n', 50), serveMeanwhile(700)]);
      expectCutOff('headers dribbled', slow);
      expect(Math.max(...latencies)).toBeLessThan(1000);
    });
    expect(blockMs).toBeLessThan(MAX_BLOCK_MS);
  });

  it('request line dribbled one byte every 100 ms, never finishing it', async () => {
    const slow = await dribble('POST /', 'a', 100);
    expectCutOff('request line dribbled', slow);
  });

  it('body dribbled one byte every 50 ms (Content-Length 2000)', async () => {
    const { blockMs } = await meter.bounded('body dribbled', MAX_BLOCK_MS, async () => {
      const [slow, latencies] = await Promise.all([dribble(pantherHead(2000), ' ', 50), serveMeanwhile(900)]);
      expectCutOff('body dribbled', slow);
      expect(Math.max(...latencies)).toBeLessThan(1000);
    });
    expect(blockMs).toBeLessThan(MAX_BLOCK_MS);
  });

  it('Content-Length 100 MiB, 6 bytes sent, socket kept open', async () => {
    const slow = await dribble(Buffer.concat([pantherHead(100 * 1_048_576), Buffer.from('{"id":')]), '', 100);
    // The body parser refuses the length at once but, as it should, reads the body off before answering; the
    // request timeout ends the wait.
    expect([0, 408, 413]).toContain(slow.response.status);
    expect(slow.closedAfterMs).toBeLessThan(CUT_OFF_WITHIN_MS);
  });

  it('40 slow clients at once (headers and bodies), while normal alerts keep being accepted', async () => {
    const { blockMs } = await meter.bounded('40 slow clients', MAX_BLOCK_MS, async () => {
      const [headerClients, bodyClients, latencies] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => dribble('POST /webhooks/panther HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n', 40))),
        Promise.all(Array.from({ length: 20 }, () => dribble(pantherHead(100_000), 'x', 40))),
        serveMeanwhile(900),
      ]);
      headerClients.forEach((r, i) => expectCutOff(`header client ${i}`, r));
      bodyClients.forEach((r, i) => expectCutOff(`body client ${i}`, r));
      expect(Math.max(...latencies)).toBeLessThan(1000);
    });
    expect(blockMs).toBeLessThan(MAX_BLOCK_MS);
  });

  it('interactivity endpoints: a forged Slack click and an unsigned Discord interaction dribbling their bodies', async () => {
    const now = String(Math.floor(Date.now() / 1000));
    const slackHead = httpPost('/slack/events', '', {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': now,
      'X-Slack-Signature': `v0=${'0'.repeat(64)}`,
      'Content-Length': 5000,
    });
    const discordHead = httpPost('/discord/interactions', '', { 'Content-Type': 'application/json', 'Content-Length': 5000 });
    const [slackSlow, discordSlow] = await Promise.all([dribble(slackHead, 'p', 50), dribble(discordHead, '{', 50)]);
    expectCutOff('slack body dribbled', slackSlow);
    expectCutOff('discord body dribbled', discordSlow);
  });

  it('a slow but honest client within the bounds is still accepted', async () => {
    const body = JSON.stringify(makeAlertPayload());
    const request = httpPost('/webhooks/panther', body, { 'Content-Type': 'application/json', 'X-Panther-Token': PANTHER_TOKEN });
    const split = request.indexOf('\r\n\r\n') + 4;
    const res = await new Promise<RawResponse>((resolve) => {
      const chunks: Buffer[] = [];
      const started = Date.now();
      const socket = net.connect(bridge.port, '127.0.0.1', async () => {
        // Headers in two pieces 100 ms apart, the body in two pieces 150 ms later: 250 ms in all, under 300/600.
        socket.write(request.subarray(0, split - 10));
        await new Promise((r) => setTimeout(r, 100));
        socket.write(request.subarray(split - 10, split + 20));
        await new Promise((r) => setTimeout(r, 150));
        socket.write(request.subarray(split + 20));
      });
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('close', () => resolve(parseRawResponse(Buffer.concat(chunks), Date.now() - started)));
    });
    expect([res.status, res.json?.status]).toEqual([200, 'accepted']);
  });

  it('after all that: still serving, nothing polluted', async () => {
    const res = await rawRequest(bridge.port, httpPost('/webhooks/panther', JSON.stringify(makeAlertPayload()), { 'Content-Type': 'application/json', 'X-Panther-Token': PANTHER_TOKEN }));
    expect([res.status, res.json.status]).toEqual([200, 'accepted']);
    expect(prototypeSnapshot()).toEqual(baselinePrototypes);
  });
});
