/**
 * Interaction requests built the way Slack and Discord build them — Slack: form-encoded `payload` signed with
 * HMAC-SHA256 `v0`; Discord: JSON signed with Ed25519 over timestamp + body — plus a loopback fake of Panther's
 * GraphQL endpoint that records what the bridge wrote back.
 */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const SLACK_SIGNING_SECRET = 'slack-signing-secret-for-tests-0001';

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** A block_actions payload for one button click on a bridge message. */
export function slackClick(opts: { actionId: string; value: string; userId?: string; username?: string; channel: string; messageTs: string; triggerId?: string }): Record<string, unknown> {
  const userId = opts.userId ?? 'U0ALICE01';
  return {
    type: 'block_actions',
    user: { id: userId, username: opts.username ?? 'alice', name: opts.username ?? 'alice', team_id: 'T0TEAM001' },
    api_app_id: 'A0APP0001',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: opts.messageTs, channel_id: opts.channel, is_ephemeral: false },
    trigger_id: opts.triggerId ?? `${Date.now()}.${Math.floor(Math.random() * 1e9)}.abcdef`,
    team: { id: 'T0TEAM001', domain: 'acme' },
    channel: { id: opts.channel, name: 'soc' },
    message: { type: 'message', ts: opts.messageTs, text: 'alert' },
    response_url: 'http://127.0.0.1:9/unused',
    actions: [
      { type: 'button', action_id: opts.actionId, block_id: 'triage.r0', value: opts.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` },
    ],
  };
}

/** A block_actions payload for choosing an option of a `static_select` (the Silence menu) on a bridge message. */
export function slackSelect(opts: { actionId: string; value: string; label?: string; userId?: string; username?: string; channel: string; messageTs: string }): Record<string, unknown> {
  const payload = slackClick({ ...opts });
  payload.actions = [
    {
      type: 'static_select',
      action_id: opts.actionId,
      block_id: 'silence.r0',
      selected_option: { text: { type: 'plain_text', text: opts.label ?? 'x' }, value: opts.value },
      placeholder: { type: 'plain_text', text: 'Silence for…' },
      action_ts: `${Date.now() / 1000}`,
    },
  ];
  return payload;
}

/** Form body + signature headers exactly as Slack sends them; `skewSeconds` moves the timestamp. */
export function signSlack(payload: unknown, secret = SLACK_SIGNING_SECRET, skewSeconds = 0): SignedRequest {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = String(Math.floor(Date.now() / 1000) + skewSeconds);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature } };
}

/** A test Ed25519 key pair; `publicKeyHex` is what the Developer Portal shows. */
export function discordKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const publicKeyHex = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  return {
    publicKeyHex,
    sign(payload: unknown, skewSeconds = 0): SignedRequest {
      return this.signText(JSON.stringify(payload), skewSeconds);
    },
    /** Signs exact body text (e.g. invalid JSON, which only a signed request gets to the parser with). */
    signText(body: string, skewSeconds = 0): SignedRequest {
      const ts = String(Math.floor(Date.now() / 1000) + skewSeconds);
      const signature = sign(null, Buffer.from(ts + body), privateKey).toString('hex');
      return { body, headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': ts } };
    },
  };
}

let interactionSeq = 0;

/** A MESSAGE_COMPONENT interaction for a button click (or, with `values`, a select menu choice) in a guild channel. */
export function discordClick(opts: { customId: string; channelId: string; messageId: string; userId?: string; username?: string; roles?: string[]; id?: string; values?: string[] }): Record<string, unknown> {
  return {
    id: opts.id ?? `13000000000000${String(++interactionSeq).padStart(5, '0')}`,
    application_id: '1200000000000000001',
    type: 3,
    token: 'interaction-token',
    version: 1,
    guild_id: '1000000000000000001',
    channel_id: opts.channelId,
    // A select menu's choice (component type 3) carries the chosen values; a button (type 2) none.
    data: opts.values ? { custom_id: opts.customId, component_type: 3, values: opts.values } : { custom_id: opts.customId, component_type: 2 },
    member: { roles: opts.roles ?? [], nick: null, user: { id: opts.userId ?? '1400000000000000001', username: opts.username ?? 'bob', global_name: opts.username ?? 'Bob' } },
    message: { id: opts.messageId, channel_id: opts.channelId },
  };
}

export async function send(url: string, request: SignedRequest): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: request.headers, body: request.body });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Polls `check` until it returns true (or fails the test after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Loopback fake of Panther's GraphQL API: records requests; `failWith` makes it answer an HTTP error. */
export interface FakePanther {
  url: string;
  requests: { apiKey: string | undefined; query: string; variables: any }[];
  users: { id: string; email: string }[];
  /** Alert id → its status in Panther, as `alert(id)` answers it (OPEN when not set). */
  alertStatuses: Record<string, string>;
  failWith: number | undefined;
  /** While set, `alert(id)` status look-ups are answered only once it settles (a slow Panther). */
  holdStatus?: Promise<void>;
  close(): Promise<void>;
}

export async function startFakePanther(): Promise<FakePanther> {
  const fake: Omit<FakePanther, 'url' | 'close'> = { requests: [], users: [], alertStatuses: {}, failWith: undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { query: string; variables: any };
      fake.requests.push({ apiKey: req.headers['x-api-key'] as string | undefined, query: body.query, variables: body.variables });
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (fake.failWith) return reply(fake.failWith, { message: 'unavailable' });
      if (req.headers['x-api-key'] !== 'panther-api-key-0001') return reply(401, { message: 'Unauthorized' });
      if (/updateAlertStatusById/.test(body.query)) return reply(200, { data: { updateAlertStatusById: { alerts: body.variables.input.ids.map((id: string) => ({ id, status: body.variables.input.status })) } } });
      if (/updateAlertsAssigneeById/.test(body.query)) return reply(200, { data: { updateAlertsAssigneeById: { alerts: body.variables.input.ids.map((id: string) => ({ id })) } } });
      if (/users\s*\{/.test(body.query)) return reply(200, { data: { users: fake.users } });
      if (/\balert\s*\(/.test(body.query)) {
        const answer = () => reply(200, { data: { alert: { id: body.variables.id, status: fake.alertStatuses[body.variables.id] ?? 'OPEN' } } });
        if (fake.holdStatus) return void fake.holdStatus.then(answer);
        return answer();
      }
      return reply(200, { errors: [{ message: 'unknown operation' }] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/public/graphql`;
  return Object.assign(fake, { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }) as FakePanther;
}
