import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { REST } from '@discordjs/rest';
import type { WebhookClient } from 'discord.js';
import type { Config, DestinationConfig } from '../config/schema';
import { silentLogger } from '../observability/logger';
import { TemplateEngine } from '../templates/engine';
import type { TemplateFiles } from '../templates/template-files';
import { ConsoleDestination } from './console';
// The pure formatters load no SDK: previews, `render` and the template check of a receiving thread stay light.
import { SlackFormatter } from './slack-format';
import { DiscordChannelFormatter } from './discord-format';
import type * as DiscordModule from './discord';
import type * as DiscordWebhookModule from './discord-webhook';
import type * as SlackModule from './slack';
import type { Destination, Formatter } from './types';

/*
 * The platform modules are loaded on first use, not with this one: each pulls in its SDK (@slack/web-api; @discordjs/rest
 * with undici; discord.js, for webhooks, with ws and its builders too), tens of MB of heap and code that a
 * config without that platform never runs. `require` is synchronous and cached, so every later call is a lookup.
 */
const slack = (): typeof SlackModule => require('./slack');
const discord = (): typeof DiscordModule => require('./discord');
const discordWebhook = (): typeof DiscordWebhookModule => require('./discord-webhook');

/**
 * The live platform clients of one config, created once and shared by every destination of that platform:
 * Slack's WebClient, the bot's @discordjs/rest REST, and one WebhookClient per webhook URL. Close them with
 * {@link closePlatformClients} when the config they belong to is replaced or the process stops.
 */
export interface PlatformClients {
  slack?: WebClient;
  discord?: REST;
  /** By webhook URL. */
  webhooks: ReadonlyMap<string, WebhookClient>;
}

function discordRestSettings(config: Config): DiscordModule.DiscordRestSettings {
  return { requestTimeoutMs: config.delivery.requestTimeoutMs, ...(config.discord?.apiUrl ? { apiUrl: config.discord.apiUrl } : {}) };
}

/** Creates the clients a config needs, loading only the SDKs of the platforms it configures. */
export function createPlatformClients(config: Config, logger: Logger): PlatformClients {
  const timeout = config.delivery.requestTimeoutMs;
  const webhooks = new Map<string, WebhookClient>();
  for (const [name, settings] of Object.entries(config.destinations)) {
    if (settings.type === 'discord-webhook' && !webhooks.has(settings.url)) webhooks.set(settings.url, discordWebhook().createWebhookClient(name, settings.url, discordRestSettings(config)));
  }
  const clients: PlatformClients = { webhooks };
  if (config.slack?.token) {
    clients.slack = slack().createSlackClient({ token: config.slack.token, requestTimeoutMs: timeout, ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}) }, logger);
  }
  if (config.discord?.token) clients.discord = discord().createDiscordRest(config.discord.token, discordRestSettings(config));
  return clients;
}

/**
 * Releases the clients' timers (the discord.js sweepers). Requests already in flight on them still complete;
 * Slack's WebClient holds no timer between requests and needs nothing. Idempotent.
 */
export function closePlatformClients(clients: PlatformClients): void {
  if (clients.discord) discord().closeDiscordRest(clients.discord);
  for (const webhook of clients.webhooks.values()) webhook.destroy();
}

type Settings<T extends DestinationConfig['type']> = Extract<DestinationConfig, { type: T }>;

/** How one destination type is built: its pure formatter, and the live destination that sends with a client. */
interface Kind<T extends DestinationConfig['type']> {
  /** Whether its live destination can edit a message it posted (`Destination.edit`). */
  edits: boolean;
  formatter(name: string, settings: Settings<T>, config: Config, templates: TemplateEngine): Formatter;
  destination(name: string, settings: Settings<T>, config: Config, clients: PlatformClients, templates: TemplateEngine): Destination;
}

/** One entry per destination type; the exhaustive Record makes an unwired type a compile error. */
const KINDS: { [T in DestinationConfig['type']]: Kind<T> } = {
  slack: {
    edits: true,
    formatter: (name, settings, config, templates) => new SlackFormatter(name, settings, templates, Boolean(config.slack?.signingSecret)),
    destination: (name, settings, config, clients, templates) => {
      if (!clients.slack) throw new Error(`destination ${name}: slack.token is not configured`);
      return new (slack().SlackDestination)(name, settings, clients.slack, templates, Boolean(config.slack?.signingSecret));
    },
  },
  discord: {
    edits: true,
    formatter: (name, settings, config, templates) => new DiscordChannelFormatter(name, settings, templates, Boolean(config.discord?.publicKey)),
    destination: (name, settings, config, clients, templates) => {
      if (!clients.discord || !config.discord?.token) throw new Error(`destination ${name}: discord.token is not configured`);
      return new (discord().DiscordChannelDestination)(name, settings, clients.discord, config.discord.token, templates, Boolean(config.discord.publicKey));
    },
  },
  'discord-webhook': {
    edits: true,
    formatter: (name, settings, _config, templates) => new (discordWebhook().DiscordWebhookFormatter)(name, settings, templates),
    destination: (name, settings, _config, clients, templates) => {
      const client = clients.webhooks.get(settings.url);
      if (!client) throw new Error(`destination ${name}: no webhook client for its URL`);
      return new (discordWebhook().DiscordWebhookDestination)(name, settings, client, templates);
    },
  },
  console: {
    edits: false,
    // Writing a line to stdout needs no client: the same object formats and sends.
    formatter: (name, settings, _config, templates) => new ConsoleDestination(name, settings, templates),
    destination: (name, settings, _config, _clients, templates) => new ConsoleDestination(name, settings, templates),
  },
};

const kindOf = (settings: DestinationConfig) => KINDS[settings.type] as Kind<DestinationConfig['type']>;

/**
 * Whether the configured destination `name` can edit the messages it posts (false for an unknown name): what a
 * receiver needs to know of a destination without building it (its clients and SDKs live where delivery runs).
 */
export function destinationEdits(config: Config, name: string): boolean {
  const settings = config.destinations[name];
  return settings !== undefined && kindOf(settings).edits;
}

/** Builds every configured destination by name. Throws on a destination the config check should have caught. */
export function createDestinations(config: Config, clients: PlatformClients, templates: TemplateEngine): Map<string, Destination> {
  const destinations = new Map<string, Destination>();
  for (const [name, settings] of Object.entries(config.destinations)) destinations.set(name, kindOf(settings).destination(name, settings, config, clients, templates));
  return destinations;
}

/**
 * Every configured destination's pure half, by name: formats exactly as the live destination does, and has no
 * client, so previews and `render` open no connection and start no timer, however often they run.
 */
export function createFormatters(config: Config, templates: TemplateEngine = new TemplateEngine(config.templates.dir)): Map<string, Formatter> {
  const formatters = new Map<string, Formatter>();
  for (const [name, settings] of Object.entries(config.destinations)) formatters.set(name, kindOf(settings).formatter(name, settings, config, templates));
  return formatters;
}

/**
 * Templates (user dir over shipped defaults, read through `files`: the disk by default), platform clients and live
 * destinations for a validated config. The caller owns the clients: {@link closePlatformClients} when done.
 */
export function buildDestinations(
  config: Config,
  logger: Logger = silentLogger(),
  files?: TemplateFiles,
): { templates: TemplateEngine; destinations: Map<string, Destination>; clients: PlatformClients } {
  const templates = new TemplateEngine(config.templates.dir, undefined, files);
  const clients = createPlatformClients(config, logger);
  const destinations = createDestinations(config, clients, templates);
  return { templates, destinations, clients };
}
