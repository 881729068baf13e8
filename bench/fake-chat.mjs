// Loopback fake of the chat APIs for the benchmark, in its own process so its CPU is not the bridge's:
// Slack Web API (chat.postMessage / chat.update / auth.test), Slack incoming webhooks (Alertmanager), Discord REST
// channel messages and Discord webhooks. It records when each bench alert first arrives and, optionally, holds
// every channel to `limit` messages per `windowMs` with 429 + Retry-After, like the platforms.
// Controlled over IPC: {cmd:'reset', rateLimit?} → {ok}; {cmd:'stats'} → the recording.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
let state;
// rateLimit: { slack?: {limit, windowMs}, discord?: {limit, windowMs} } per channel, by platform.
// faults: { error5xx?: fraction of posts answered 503, rateLimit429?: fraction answered 429 } (soak).
function reset(rateLimit, faults) {
  state = { rateLimit, faults, requests: 0, status: {}, channels: {}, seq: 0, times: {}, duplicates: 0, injected: 0 };
}
reset(undefined);

/**
 * Per channel: when each bench alert first arrived in a message of its own, the latest count of every digest
 * message, every accepted message's time, and (time, alerts visible) after each message.
 */
function record(channel, key, text, t, edit = false) {
  const ch = channelState(channel);
  ch.times.push(t);
  const burst = /Alert burst: (\d+) alerts/.exec(text);
  if (burst) {
    // Counters kept incrementally: the fake must stay cheap next to what it measures.
    ch.digestTotal += Number(burst[1]) - (ch.digests[key] ?? 0);
    ch.digests[key] = Number(burst[1]);
  } else {
    // One message names its alert several times (title, fallback text): count each alert once per message.
    for (const id of new Set(Array.from(text.matchAll(/bench#(\d+)/g), (m) => m[1]))) {
      if (ch.ids[id] === undefined) {
        ch.ids[id] = t;
        ch.idCount++;
      } else if (!edit) state.duplicates++;
    }
  }
  ch.visible.push([t, ch.idCount + ch.digestTotal]);
}

function channelState(channel) {
  return (state.channels[channel] ??= { ids: {}, idCount: 0, digests: {}, digestTotal: 0, times: [], visible: [], requests: 0 });
}

function limited(channel, t) {
  channelState(channel).requests++;
  // Injected faults first (soak): a 503 or a 429 with a short Retry-After, at the configured fractions.
  const f = state.faults;
  if (f && Math.random() < (f.error5xx ?? 0)) return (state.injected++, -503);
  if (f && Math.random() < (f.rateLimit429 ?? 0)) return (state.injected++, 1000);
  const rl = state.rateLimit?.[channel.startsWith('slack') ? 'slack' : 'discord'];
  if (!rl) return 0;
  const times = (state.times[channel] ??= []).filter((x) => t - x < rl.windowMs);
  state.times[channel] = times;
  if (times.length >= rl.limit) return Math.max(1, rl.windowMs - (t - times[0]));
  times.push(t);
  return 0;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = now();
    state.requests++;
    const raw = Buffer.concat(chunks).toString('utf8');
    const reply = (status, body, headers = {}) => {
      state.status[status] = (state.status[status] ?? 0) + 1;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const url = req.url.split('?')[0];
    // Slack Web API
    const slack = /^\/api\/([a-zA-Z.]+)$/.exec(url);
    if (slack) {
      const args = Object.fromEntries(new URLSearchParams(raw));
      if (slack[1] === 'auth.test') return reply(200, { ok: true, user_id: 'UBENCH', bot_id: 'BBENCH', team: 'bench', user: 'bench' });
      if (slack[1] === 'chat.postMessage' || slack[1] === 'chat.update') {
        const channel = `slack:${args.channel}`;
        const wait = slack[1] === 'chat.postMessage' ? limited(channel, t) : 0;
        if (wait === -503) return reply(503, '<html>503 Service Unavailable</html>', { 'content-type': 'text/html' });
        if (wait) return reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.ceil(wait / 1000)) });
        const ts = args.ts ?? `1700000000.${String(++state.seq).padStart(6, '0')}`;
        record(channel, `${channel}/${ts}`, JSON.stringify(args), t, slack[1] === 'chat.update');
        return reply(200, { ok: true, channel: args.channel, ts });
      }
      return reply(200, { ok: true });
    }
    // Slack incoming webhook (Alertmanager's slack_configs.api_url)
    if (url === '/slack-hook') {
      const wait = limited('slack-hook', t);
      if (wait) return reply(429, 'rate_limited', { 'retry-after': String(Math.ceil(wait / 1000)) });
      record('slack-hook', `hook/${++state.seq}`, raw, t);
      return reply(200, 'ok');
    }
    // Discord REST: bot channel messages, users/@me, webhooks
    if (url === '/api/v10/users/@me' || url === '/api/v10/users/%40me') return reply(200, { id: '1', username: 'bench' });
    const channel = /^\/api\/v10\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(url);
    const hook = /^\/api(?:\/v10)?\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(\d+))?$/.exec(url);
    if (channel || hook) {
      const key = channel ? `discord:${channel[1]}` : `discord-hook:${hook[1]}`;
      const editing = req.method === 'PATCH';
      const wait = editing ? 0 : limited(key, t);
      if (wait === -503) return reply(503, { message: '503: Service Unavailable', code: 0 });
      if (wait) return reply(429, { message: 'You are being rate limited.', retry_after: wait / 1000, global: false }, { 'retry-after': String(Math.ceil(wait / 1000)), 'x-ratelimit-scope': 'user' });
      const id = (editing ? channel?.[2] ?? hook?.[3] : undefined) ?? String(1500000000000000000n + BigInt(++state.seq));
      record(key, `${key}/${id}`, raw, t, editing);
      if (hook && !editing && !/wait=true/.test(req.url)) return reply(204, '');
      return reply(200, { id, channel_id: channel?.[1] ?? '1100000000000000001', content: '', embeds: [] });
    }
    reply(404, { message: 'not found' });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

process.on('message', (msg) => {
  if (msg.cmd === 'reset') {
    reset(msg.rateLimit, msg.faults);
    process.send({ ok: true });
  } else if (msg.cmd === 'stats') {
    process.send(msg.summary
      ? { requests: state.requests, status: state.status, duplicates: state.duplicates, injected: state.injected, delivered: Object.fromEntries(Object.entries(state.channels).map(([k, ch]) => [k, ch.idCount])) }
      : { requests: state.requests, status: state.status, duplicates: state.duplicates, injected: state.injected, channels: state.channels });
  }
});
