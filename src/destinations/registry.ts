import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { REST } from 'discord.js';
import type { Config, DestinationConfig } from '../config/schema';
import { silentLogger } from '../observability/logger';
import { TemplateEngine } from '../templates/engine';
import { ConsoleDestination } from './console';
import { createDiscordRest, DiscordChannelDestination } from './discord';
import { DiscordWebhookDestination } from './discord-webhook';
import { createSlackApp, SlackDestination } from './slack';
import type { Destination } from './types';

/** The live platform clients, created once and shared by every destination of that platform. */
export interface PlatformClients {
  slack?: App;
  discord?: REST;
}

export function createPlatformClients(config: Config, logger: Logger): PlatformClients {
  const clients: PlatformClients = {};
  const timeout = config.delivery.requestTimeoutMs;
  if (config.slack?.token) {
    clients.slack = createSlackApp({
      token: config.slack.token,
      requestTimeoutMs: timeout,
      ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
      ...(config.slack.botId ? { botId: config.slack.botId } : {}),
      ...(config.slack.botUserId ? { botUserId: config.slack.botUserId } : {}),
    }, logger);
  }
  if (config.discord?.token) {
    clients.discord = createDiscordRest(config.discord.token, { requestTimeoutMs: timeout, ...(config.discord.apiUrl ? { apiUrl: config.discord.apiUrl } : {}) });
  }
  return clients;
}

type Factory<T extends DestinationConfig['type']> = (
  name: string,
  settings: Extract<DestinationConfig, { type: T }>,
  config: Config,
  clients: PlatformClients,
  templates: TemplateEngine,
) => Destination;

/** One factory per destination type; the exhaustive Record makes an unwired type a compile error. */
const FACTORIES: { [T in DestinationConfig['type']]: Factory<T> } = {
  slack: (name, settings, _config, clients, templates) => {
    if (!clients.slack) throw new Error(`destination ${name}: slack.token is not configured`);
    return new SlackDestination(name, settings, clients.slack.client, templates, Boolean(_config.slack?.signingSecret));
  },
  discord: (name, settings, config, clients, templates) => {
    if (!clients.discord || !config.discord?.token) throw new Error(`destination ${name}: discord.token is not configured`);
    return new DiscordChannelDestination(name, settings, clients.discord, config.discord.token, templates, Boolean(config.discord.publicKey));
  },
  'discord-webhook': (name, settings, config, _clients, templates) =>
    new DiscordWebhookDestination(
      name,
      settings,
      { requestTimeoutMs: config.delivery.requestTimeoutMs, ...(config.discord?.apiUrl ? { apiUrl: config.discord.apiUrl } : {}) },
      templates,
    ),
  console: (name, settings, _config, _clients, templates) => new ConsoleDestination(name, settings, templates),
};

/** Builds every configured destination by name. Throws on a destination the config check should have caught. */
export function createDestinations(config: Config, clients: PlatformClients, templates: TemplateEngine): Map<string, Destination> {
  const destinations = new Map<string, Destination>();
  for (const [name, settings] of Object.entries(config.destinations)) {
    const factory = FACTORIES[settings.type] as Factory<DestinationConfig['type']>;
    destinations.set(name, factory(name, settings, config, clients, templates));
  }
  return destinations;
}

/** Templates (user dir over shipped defaults) and live destinations for a validated config. */
export function buildDestinations(
  config: Config,
  logger: Logger = silentLogger(),
): { templates: TemplateEngine; destinations: Map<string, Destination>; clients: PlatformClients } {
  const templates = new TemplateEngine(config.templates.dir);
  const clients = createPlatformClients(config, logger);
  const destinations = createDestinations(config, clients, templates);
  return { templates, destinations, clients };
}
