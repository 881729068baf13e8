/**
 * Starts the real bridge (config loader, SQLite outbox, worker, HTTP server) in-process, wired to the loopback
 * fakes, so end-to-end tests drive it exactly as a user would: YAML config in, HTTP webhooks in, SDK calls out.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { startBridge, type RunningBridge } from '../../src/bridge';
import { silentLogger } from '../../src/observability/logger';

export const PANTHER_TOKEN = 'panther-secret-token-0001';
/** Bearer token of the Alertmanager and Grafana webhooks the harness configures. */
export const AM_TOKEN = 'am-secret-token-0001';

export interface HarnessOptions {
  slackUrl: string;
  discordApi: string;
  webhookUrl: string;
  storePath?: string;
  /** A PostgreSQL store (`store: { url }`) instead of the SQLite file; wins over storePath. */
  storeUrl?: string;
  extraYaml?: string;
  routesYaml?: string;
  /** Keep the platforms' real per-channel pace (1/s Slack, 5 per 5 s Discord); tests default to a fast one. */
  realPace?: boolean;
  /** More destination lines (YAML, indented two spaces). */
  extraDestinations?: string;
  /** Interactivity: Slack signing secret and Discord public key (hex) to configure. */
  slackSigningSecret?: string;
  discordPublicKey?: string;
  /**
   * `delivery.thread` (unset: the default, a delivery thread on a SQLite file). In-process bridges run from the
   * TypeScript sources, which have no compiled thread entry: {@link harnessConfig} sets it false.
   */
  deliveryThread?: boolean;
  /** More keys of `sources.alertmanager` / `sources.grafana` (YAML lines indented four spaces), e.g. `api` and `silence`. */
  alertmanagerYaml?: string;
  grafanaYaml?: string;
}

/**
 * The Alertmanager and Grafana sources, authenticated with {@link AM_TOKEN} (written into the YAML, so every test
 * that builds its own environment for harnessYaml still gets a loadable config).
 */
const labelSources = (options: HarnessOptions) => `
  alertmanager:
    auth: { bearer: ["${AM_TOKEN}"], basic: [{ username: am, password: "${AM_TOKEN}" }] }${options.alertmanagerYaml ? `\n${options.alertmanagerYaml}` : ''}
  grafana:
    auth: { bearer: ["${AM_TOKEN}"] }${options.grafanaYaml ? `\n${options.grafanaYaml}` : ''}`;

export function tempStorePath(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-e2e-')), 'outbox.db');
}

/** The YAML an operator would write for the fakes (tokens through ${ENV} like production). */
export function harnessYaml(options: HarnessOptions): string {
  const pace = options.realPace ? '' : ', pace: { limit: 50, windowMs: 100 }';
  return `
server: { port: 0, host: 127.0.0.1 }
store: ${options.storeUrl ? `{ url: "${options.storeUrl}" }` : `{ path: "${options.storePath ?? tempStorePath()}" }`}
sources:
  panther:
    auth: { header: X-Panther-Token, tokens: ["\${PANTHER_TOKEN}"] }${labelSources(options)}
slack: { token: "\${SLACK_BOT_TOKEN}", apiUrl: "${options.slackUrl}"${options.slackSigningSecret ? `, signingSecret: "${options.slackSigningSecret}"` : ''} }
discord: { token: "\${DISCORD_BOT_TOKEN}", apiUrl: "${options.discordApi}"${options.discordPublicKey ? `, publicKey: "${options.discordPublicKey}"` : ''} }
delivery:
  backoff: { initialMs: 50, maxMs: 200, factor: 2 }
  requestTimeoutMs: 2000
  leaseMs: 5000${options.deliveryThread === undefined ? '' : `\n  thread: ${options.deliveryThread}`}
destinations:
  soc-slack: { type: slack, channel: C0123456789${pace} }
  soc-discord: { type: discord, channel: "1100000000000000001"${pace} }
  lab-hook: { type: discord-webhook, url: "\${DISCORD_WEBHOOK_URL}"${pace} }
${options.extraDestinations ?? ''}
${options.routesYaml ?? 'routes:\n  - name: everything\n    to: [soc-slack, soc-discord, lab-hook]\n    digest: off'}
${options.extraYaml ?? ''}
`;
}

export function harnessConfig(options: HarnessOptions, extraEnv: Record<string, string> = {}): Config {
  const result = loadConfigText(harnessYaml({ deliveryThread: false, ...options }), {
    ...extraEnv,
    PANTHER_TOKEN,
    SLACK_BOT_TOKEN: 'xoxb-test',
    DISCORD_BOT_TOKEN: 'discord-test-token',
    DISCORD_WEBHOOK_URL: options.webhookUrl,
  });
  if (!result.ok) throw new Error(`harness config invalid: ${JSON.stringify(result.problems)}`);
  return result.config;
}

/** Store file of each bridge the harness started (for read-only assertions, see store-query.ts). */
const storePaths = new WeakMap<RunningBridge, string>();

export async function startHarnessBridge(config: Config): Promise<RunningBridge> {
  // Run from the TypeScript sources, the bridge has no compiled delivery-thread entry: it delivers on its loop.
  const bridge = await startBridge(config.delivery.thread ? { ...config, delivery: { ...config.delivery, thread: false } } : config, silentLogger(), 0);
  if (config.store.engine === 'sqlite') storePaths.set(bridge, config.store.path);
  return bridge;
}

/** The store file of a bridge started by {@link startHarnessBridge}. */
export function harnessStorePath(bridge: RunningBridge): string {
  const file = storePaths.get(bridge);
  if (!file) throw new Error('not a bridge started by startHarnessBridge');
  return file;
}

/** POSTs JSON (an object, or raw text as is) with `headers`; the answer's body is parsed when it is JSON. */
async function postJson(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** POSTs a payload (object or raw text) the way Panther does. */
export async function postAlert(bridge: RunningBridge, body: unknown, token = PANTHER_TOKEN): Promise<{ status: number; body: any }> {
  const { status, body: answer } = await postJson(`${bridge.url}/webhooks/panther`, { 'x-panther-token': token }, body);
  return { status, body: answer };
}

/** POSTs a group payload to the Alertmanager (or Grafana) webhook with a bearer token, as Alertmanager's http_config does. */
export function postGroup(bridge: RunningBridge, body: unknown, options: { source?: 'alertmanager' | 'grafana'; authorization?: string } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  return postJson(`${bridge.url}/webhooks/${options.source ?? 'alertmanager'}`, { authorization: options.authorization ?? `Bearer ${AM_TOKEN}` }, body);
}

/** The most events seen in any window of `windowMs` (receive times in ms, ascending): a channel's peak rate. */
export function peakInWindow(times: number[], windowMs: number): number {
  return Math.max(0, ...times.map((t, i) => times.slice(i).filter((u) => u - t < windowMs).length));
}
